import { Construct } from 'constructs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';

export interface SsmInstanceRoleProps {
  /** Role and profile name. */
  readonly name: string;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/** An EC2 instance role with only `AmazonSSMManagedInstanceCore`, and its instance profile. */
export class SsmInstanceRole extends Construct {
  public readonly role: IamRole;
  public readonly roleName: string;
  public readonly instanceProfileName: string;

  constructor(scope: Construct, id: string, props: SsmInstanceRoleProps) {
    super(scope, id);
    const partition = new DataAwsPartition(this, 'partition');
    this.role = new IamRole(this, 'role', {
      name: props.name,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
      tags: props.tags,
    });
    new IamRolePolicyAttachment(this, 'ssm-core', {
      role: this.role.name,
      policyArn: `arn:${partition.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    });
    const profile = new IamInstanceProfile(this, 'profile', { name: props.name, role: this.role.name, tags: props.tags });
    this.roleName = this.role.name;
    this.instanceProfileName = profile.name;
  }
}
