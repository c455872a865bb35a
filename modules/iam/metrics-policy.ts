import { Construct } from 'constructs';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { Fn } from 'cdktf';
import { countWhen, splat } from '../shared/terraform-expressions';

/** The only action the metrics publisher needs. */
export const METRICS_WRITE_ACTIONS = ['cloudwatch:PutMetricData'];

export interface MetricsPolicyProps {
  /** Policy name. */
  readonly name: string;
  /** The one CloudWatch namespace the instance may publish to. */
  readonly namespace: string;
  /**
   * A role to attach the policy to.
   * @default not attached: attach `policyArn` yourself
   */
  readonly roleName?: string;
  /**
   * A module variable that decides whether the policy exists (`count`).
   * @default exists
   */
  readonly enabled?: boolean;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * A managed IAM policy that lets an instance publish metrics to one CloudWatch namespace.
 * `PutMetricData` has no resource-level permissions (its resource is `*`); the
 * `cloudwatch:namespace` condition is what scopes it
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html).
 */
export class MetricsPolicy extends Construct {
  public readonly policy: IamPolicy;
  public readonly policyArn: string;
  /** The policy document as it is synthesized. */
  public readonly policyDocument: string;

  constructor(scope: Construct, id: string, props: MetricsPolicyProps) {
    super(scope, id);
    this.policyDocument = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PublishToOwnNamespace',
          Effect: 'Allow',
          Action: METRICS_WRITE_ACTIONS,
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': props.namespace } },
        },
      ],
    });
    const count = props.enabled === undefined ? undefined : countWhen(props.enabled);
    this.policy = new IamPolicy(this, 'policy', {
      count,
      name: props.name,
      description: `NAT instance: publish metrics to the CloudWatch namespace ${props.namespace} only`,
      policy: this.policyDocument,
      tags: props.tags,
    });
    this.policyArn = count === undefined ? this.policy.arn : Fn.one(splat(this.policy, 'arn'));
    if (props.roleName !== undefined) {
      new IamRolePolicyAttachment(this, 'attachment', {
        count,
        role: props.roleName,
        policyArn: count === undefined ? this.policy.arn : Fn.element(splat(this.policy, 'arn'), 0),
      });
    }
  }
}
