import { Construct } from 'constructs';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { requireNonEmpty } from '../shared/validation';

/** Reads without resource-level permissions: grantable on `*` only. */
export const GROUP_AGENT_READ_ACTIONS = ['ec2:DescribeInstances', 'ec2:DescribeRouteTables'];
export const GROUP_AGENT_ROUTE_ACTIONS = ['ec2:CreateRoute', 'ec2:ReplaceRoute'];

export interface NatGroupAgentPolicyProps {
  /** Policy name. */
  readonly name: string;
  /** Every route table of the group: a healthy member may take any of them. */
  readonly groupRouteTableIds: string[];
  /** The SSM parameter this member publishes its heartbeat to (a name starting with `/`). */
  readonly ownHeartbeatParameter: string;
  /** The path holding every member's heartbeat (`/nat-instance/<group>`). */
  readonly groupParameterPath: string;
  /**
   * The member's role.
   * @default not attached: attach `policyArn` yourself
   */
  readonly roleName?: string;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * What a NAT group member's health agent needs: point the group's route tables (and no other) at
 * itself, publish its own heartbeat parameter (and no other), read its peers' heartbeats, and the
 * reads EC2 only grants on `*` (route tables, instance states).
 */
export class NatGroupAgentPolicy extends Construct {
  public readonly policy: IamPolicy;
  public readonly policyArn: string;
  public readonly policyDocument: string;
  /** The policy attached to `roleName`, when given. */
  public readonly attachment?: IamRolePolicyAttachment;

  constructor(scope: Construct, id: string, props: NatGroupAgentPolicyProps) {
    super(scope, id);
    requireNonEmpty(props.groupRouteTableIds, 'groupRouteTableIds');
    const partition = new DataAwsPartition(this, 'partition').partition;
    const region = new DataAwsRegion(this, 'region').id;
    const account = new DataAwsCallerIdentity(this, 'account').accountId;
    const parameterArn = (name: string) => `arn:${partition}:ssm:${region}:${account}:parameter${name}`;
    const document = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'ReadRoutesAndInstances', Effect: 'Allow', Action: GROUP_AGENT_READ_ACTIONS, Resource: '*' },
        {
          Sid: 'TakeGroupRouteTables',
          Effect: 'Allow',
          Action: GROUP_AGENT_ROUTE_ACTIONS,
          Resource: props.groupRouteTableIds.map((id) => `arn:${partition}:ec2:${region}:${account}:route-table/${id}`),
        },
        { Sid: 'PublishOwnHeartbeat', Effect: 'Allow', Action: ['ssm:PutParameter'], Resource: parameterArn(props.ownHeartbeatParameter) },
        {
          Sid: 'ReadGroupHeartbeats',
          Effect: 'Allow',
          Action: ['ssm:GetParameters'],
          Resource: parameterArn(`${props.groupParameterPath}/*`),
        },
      ],
    };
    this.policyDocument = JSON.stringify(document);
    this.policy = new IamPolicy(this, 'policy', {
      name: props.name,
      description: 'NAT group health agent: take over the group route tables, publish its heartbeat, read its peers',
      policy: this.policyDocument,
      tags: props.tags,
    });
    this.policyArn = this.policy.arn;
    if (props.roleName !== undefined) {
      this.attachment = new IamRolePolicyAttachment(this, 'attachment', { role: props.roleName, policyArn: this.policy.arn });
    }
  }
}
