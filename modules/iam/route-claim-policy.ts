import { Construct } from 'constructs';
import { Fn, Token } from 'cdktf';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { requireNonEmpty } from '../shared/validation';

/** The only actions a NAT instance needs to point route tables at itself. */
export const ROUTE_CLAIM_WRITE_ACTIONS = ['ec2:CreateRoute', 'ec2:ReplaceRoute'];
/** DescribeRouteTables has no resource-level permissions: it can only be granted on `*`. */
export const ROUTE_CLAIM_READ_ACTIONS = ['ec2:DescribeRouteTables'];

export interface RouteClaimPolicyProps {
  /** Route tables the NAT may point at itself; may be a Terraform token list. */
  readonly routeTableIds: string[];
  /** Policy name. */
  readonly name: string;
  /**
   * A role to attach the policy to (a role the caller owns, or the NAT's own).
   * @default not attached: attach `policyArn` yourself
   */
  readonly roleName?: string;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * A managed IAM policy that lets an instance create or replace routes only in the given route
 * tables (ARNs built from the partition, region and account data sources), plus the read-only
 * `ec2:DescribeRouteTables`. Nothing else.
 */
export class RouteClaimPolicy extends Construct {
  public readonly policy: IamPolicy;
  public readonly policyArn: string;
  /**
   * The attachment to `roleName`, when one was given: an instance that claims routes at boot
   * should depend on it, or Terraform may start the instance before the policy is attached.
   */
  public readonly attachment?: IamRolePolicyAttachment;
  /** The policy document as it is synthesized (with Terraform interpolations). */
  public readonly policyDocument: string;

  constructor(scope: Construct, id: string, props: RouteClaimPolicyProps) {
    super(scope, id);
    requireNonEmpty(props.routeTableIds, 'routeTableIds');
    const partition = new DataAwsPartition(this, 'partition').partition;
    const region = new DataAwsRegion(this, 'region').id;
    const account = new DataAwsCallerIdentity(this, 'account').accountId;
    const routeTableArns: string[] | string = Token.isUnresolved(props.routeTableIds)
      ? Fn.formatlist('arn:%s:ec2:%s:%s:route-table/%s', [partition, region, account, props.routeTableIds])
      : props.routeTableIds.map((routeTableId) => `arn:${partition}:ec2:${region}:${account}:route-table/${routeTableId}`);
    const document = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'DescribeRouteTables', Effect: 'Allow', Action: ROUTE_CLAIM_READ_ACTIONS, Resource: '*' },
        { Sid: 'ClaimDefaultRoute', Effect: 'Allow', Action: ROUTE_CLAIM_WRITE_ACTIONS, Resource: routeTableArns },
      ],
    };
    // Concrete IDs give a readable JSON string; a token list needs Terraform's jsonencode.
    this.policyDocument = Token.isUnresolved(props.routeTableIds) ? Fn.jsonencode(document) : JSON.stringify(document);
    this.policy = new IamPolicy(this, 'policy', {
      name: props.name,
      description: 'NAT instance: create or replace routes in its own route tables only',
      policy: this.policyDocument,
      tags: props.tags,
    });
    this.policyArn = this.policy.arn;
    if (props.roleName !== undefined) {
      this.attachment = new IamRolePolicyAttachment(this, 'attachment', { role: props.roleName, policyArn: this.policy.arn });
    }
  }
}
