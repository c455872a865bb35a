import { Construct } from 'constructs';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { architectureOf, latestAl2023AmiId } from '../nat/ami';
import { SubnetInfo } from '../shared/subnet';

/** Tag that the connectivity check targets. */
export const TEST_INSTANCE_TAG = { key: 'Project', value: 'NAT-Test' } as const;

export interface PrivateTestInstancesProps {
  readonly vpcId: string;
  /** One instance is launched in each subnet. */
  readonly subnets: SubnetInfo[];
  /** A profile with SSM core access, so Run Command can reach the instances. */
  readonly instanceProfileName: string;
  /**
   * @default 't4g.nano'
   */
  readonly instanceType?: string;
  /**
   * @default 'nat-test'
   */
  readonly name?: string;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * Private Amazon Linux 2023 instances (no public IP, egress only, IMDSv2, encrypted root)
 * tagged `Project=NAT-Test`, managed through SSM: the subjects of the connectivity check.
 */
export class PrivateTestInstances extends Construct {
  public readonly instances: Instance[];
  public readonly instanceIds: string[];

  constructor(scope: Construct, id: string, props: PrivateTestInstancesProps) {
    super(scope, id);
    const name = props.name ?? 'nat-test';
    const tags = { ...(props.tags ?? {}), [TEST_INSTANCE_TAG.key]: TEST_INSTANCE_TAG.value };
    const group = new SecurityGroup(this, 'sg', {
      name: `${name}-private`,
      description: 'Private test instances: egress only',
      vpcId: props.vpcId,
      egress: [{ description: 'Anywhere', protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'] }],
      tags: { ...tags, Name: `${name}-private` },
    });
    const instanceType = props.instanceType ?? 't4g.nano';
    // The AMI must match the instance type's architecture (t3.* needs x86_64).
    const ami = latestAl2023AmiId(this, 'ami', architectureOf(instanceType) ?? 'arm64');
    this.instances = props.subnets.map(
      (subnet, i) =>
        new Instance(this, `instance-${i}`, {
          ami,
          instanceType,
          subnetId: subnet.id,
          associatePublicIpAddress: false,
          vpcSecurityGroupIds: [group.id],
          iamInstanceProfile: props.instanceProfileName,
          metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' },
          rootBlockDevice: { volumeType: 'gp3', encrypted: true, deleteOnTermination: true },
          tags: { ...tags, Name: `${name}-private-${i}` },
          lifecycle: { ignoreChanges: ['ami'] },
        }),
    );
    this.instanceIds = this.instances.map((instance) => instance.id);
  }
}
