import { Construct } from 'constructs';
import { Fn, Token } from 'cdktf';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';

/**
 * The tag every instance and network interface of a self-healing NAT carries (set by its launch
 * template); the policy below lets the NAT act only on resources with its own value.
 */
export const SELF_HEALING_TAG_KEY = 'nat-instance';

/** The write actions a self-healing NAT needs besides route self-claim. */
export const SELF_HEALING_WRITE_ACTIONS = ['ec2:AssociateAddress', 'ec2:AttachNetworkInterface', 'ec2:ModifyNetworkInterfaceAttribute'];
/** DescribeNetworkInterfaces has no resource-level permissions: it can only be granted on `*`. */
export const SELF_HEALING_READ_ACTIONS = ['ec2:DescribeNetworkInterfaces'];

export interface SelfHealingPolicyProps {
  /** Policy name. */
  readonly name: string;
  /** The value of the `nat-instance` tag on the NAT's own instances and interfaces. */
  readonly tagValue: string;
  /**
   * The Elastic IP the NAT associates with itself at boot.
   * @default none: no address statement
   */
  readonly elasticIpAllocationId?: string;
  /**
   * The static forwarding interface (dual mode) the NAT attaches at boot.
   * @default none: no attachment statement
   */
  readonly forwardingInterfaceId?: string;
  /**
   * Whether the NAT turns off the source/destination check of its own interface at boot (single
   * mode: a launch template cannot). A token (a mode known only to Terraform) makes the document a
   * Terraform conditional: true gives this statement and no forwarding-interface statements, false
   * the reverse.
   * @default false
   */
  readonly disablesSourceDestCheck?: boolean;
  /**
   * A role to attach the policy to.
   * @default not attached: attach `policyArn` yourself
   */
  readonly roleName?: string;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * What an instance of a self-healing NAT (an Auto Scaling group of one) needs to take over from
 * the instance it replaces, and nothing more: associate exactly its Elastic IP with one of its own
 * interfaces, attach exactly its static forwarding interface to one of its own instances, and turn
 * off the source/destination check of its own interfaces. "Its own" is the `nat-instance` tag that
 * the launch template puts on every instance and interface it launches.
 */
export class SelfHealingPolicy extends Construct {
  public readonly policy: IamPolicy;
  public readonly policyArn: string;
  /** The policy document as it is synthesized (with Terraform interpolations). */
  public readonly policyDocument: string;
  public readonly attachment?: IamRolePolicyAttachment;

  constructor(scope: Construct, id: string, props: SelfHealingPolicyProps) {
    super(scope, id);
    const partition = new DataAwsPartition(this, 'partition').partition;
    const region = new DataAwsRegion(this, 'region').id;
    const account = new DataAwsCallerIdentity(this, 'account').accountId;
    const arn = (resource: string) => `arn:${partition}:ec2:${region}:${account}:${resource}`;
    const ownTag = { StringEquals: { [`aws:ResourceTag/${SELF_HEALING_TAG_KEY}`]: props.tagValue } };
    const document = (forwarding: boolean, sourceDestCheck: boolean) => ({
      Version: '2012-10-17',
      Statement: statementsOf(arn, ownTag, {
        ...props,
        forwardingInterfaceId: forwarding ? props.forwardingInterfaceId : undefined,
        disablesSourceDestCheck: sourceDestCheck,
      }),
    });
    const modeIsToken = Token.isUnresolved(props.disablesSourceDestCheck);
    this.policyDocument = modeIsToken
      ? Fn.conditional(props.disablesSourceDestCheck, Fn.jsonencode(document(false, true)), Fn.jsonencode(document(true, false)))
      : JSON.stringify(document(true, props.disablesSourceDestCheck === true));
    this.policy = new IamPolicy(this, 'policy', {
      name: props.name,
      description: 'Self-healing NAT instance: take over its own Elastic IP and forwarding interface only',
      policy: this.policyDocument,
      tags: props.tags,
    });
    this.policyArn = this.policy.arn;
    if (props.roleName !== undefined) {
      this.attachment = new IamRolePolicyAttachment(this, 'attachment', { role: props.roleName, policyArn: this.policy.arn });
    }
  }
}

/** The statements for what the NAT takes over (each optional part only when asked for). */
function statementsOf(
  arn: (resource: string) => string,
  ownTag: Record<string, unknown>,
  props: Pick<SelfHealingPolicyProps, 'elasticIpAllocationId' | 'forwardingInterfaceId' | 'disablesSourceDestCheck'>,
): Array<Record<string, unknown>> {
  const statements: Array<Record<string, unknown>> = [
    { Sid: 'DescribeNetworkInterfaces', Effect: 'Allow', Action: SELF_HEALING_READ_ACTIONS, Resource: '*' },
  ];
  if (props.elasticIpAllocationId !== undefined) {
    statements.push(
      {
        Sid: 'AssociateOwnElasticIp',
        Effect: 'Allow',
        Action: ['ec2:AssociateAddress'],
        Resource: arn(`elastic-ip/${props.elasticIpAllocationId}`),
      },
      {
        Sid: 'AssociateWithOwnInterface',
        Effect: 'Allow',
        Action: ['ec2:AssociateAddress'],
        Resource: arn('network-interface/*'),
        Condition: ownTag,
      },
    );
  }
  if (props.forwardingInterfaceId !== undefined) {
    statements.push(
      {
        Sid: 'AttachOwnForwardingInterface',
        Effect: 'Allow',
        Action: ['ec2:AttachNetworkInterface'],
        Resource: arn(`network-interface/${props.forwardingInterfaceId}`),
      },
      {
        Sid: 'AttachToOwnInstance',
        Effect: 'Allow',
        Action: ['ec2:AttachNetworkInterface'],
        Resource: arn('instance/*'),
        Condition: ownTag,
      },
    );
  }
  if (props.disablesSourceDestCheck) {
    statements.push({
      Sid: 'OwnInterfaceSourceDestCheck',
      Effect: 'Allow',
      Action: ['ec2:ModifyNetworkInterfaceAttribute'],
      Resource: arn('network-interface/*'),
      Condition: ownTag,
    });
  }
  return statements;
}
