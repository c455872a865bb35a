import { Construct } from 'constructs';
import { S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { requireSupportedVersions } from './supported-versions';
import { Network } from '../modules/vpc';
import { NatGroup, natGroupMembersByZone, NatInstance } from '../modules/nat';
import { SsmInstanceRole } from '../modules/iam';
import { PrivateTestInstances } from '../modules/connectivity';

/** What provides egress: one NAT instance for both zones, or a NatGroup of one NAT per zone. */
export type NatExampleNat = 'instance' | 'group';
export const NAT_EXAMPLE_NATS: readonly NatExampleNat[] = ['instance', 'group'];

export interface NatExampleConfig {
  /** AWS region. */
  readonly region: string;
  /** An existing instance profile (the pipeline passes one, since its build role cannot create IAM roles). */
  readonly instanceProfileName?: string;
  /** S3 state: bucket and key; local state when absent. */
  readonly stateBucket?: string;
  readonly stateKey?: string;
  /**
   * `group`: a NatGroup of one self-healing NAT per zone (a public subnet per zone) instead of the one NAT.
   * @default 'instance'
   */
  readonly nat?: NatExampleNat;
}

/** Reads the example's settings from the environment: nothing to edit in code. */
export function natExampleConfigFromEnv(env: NodeJS.ProcessEnv): NatExampleConfig {
  return {
    region: env.NAT_EXAMPLE_REGION ?? env.AWS_REGION ?? 'eu-central-1',
    instanceProfileName: env.TESTING_SSM_ROLE || undefined,
    stateBucket: env.NAT_STATE_BUCKET || undefined,
    stateKey: env.NAT_STATE_KEY || undefined,
    nat: natFromEnv(env.NAT_EXAMPLE_NAT),
  };
}

function natFromEnv(value: string | undefined): NatExampleNat {
  if (!value) return 'instance';
  if (!(NAT_EXAMPLE_NATS as readonly string[]).includes(value)) {
    throw new Error(`NAT_EXAMPLE_NAT must be one of ${NAT_EXAMPLE_NATS.join(', ')} (default instance), got '${value}'`);
  }
  return value as NatExampleNat;
}

/**
 * The embedded default (the multi-subnet case): VPC 10.8.0.0/16, one public and three
 * private subnets over two zones with one route table per zone, a dual-interface NAT with an
 * Elastic IP, SSM endpoints, and one private test instance per private subnet.
 * With `nat: 'group'`: a second public subnet (10.8.4.0/24, zone b) and a NatGroup of one
 * self-healing dual-interface NAT per zone, each with its own Elastic IP (docs/high-availability.md).
 */
export class NatExampleStack extends TerraformStack {
  public readonly network: Network;
  /** The one NAT (`nat: 'instance'`). */
  public readonly nat?: NatInstance;
  /** The NAT per zone (`nat: 'group'`). */
  public readonly natGroup?: NatGroup;
  public readonly testInstances: PrivateTestInstances;

  constructor(scope: Construct, id: string, config: NatExampleConfig) {
    super(scope, id);
    const natKind = config.nat ?? 'instance';
    if (!NAT_EXAMPLE_NATS.includes(natKind)) {
      throw new Error(`'nat' (NAT_EXAMPLE_NAT) must be one of ${NAT_EXAMPLE_NATS.join(', ')}, got '${String(natKind)}'`);
    }
    if (natKind === 'group' && config.instanceProfileName) {
      // Each member needs its own role and policies (Elastic IP, interface, route tables, heartbeat).
      throw new Error(
        `NAT_EXAMPLE_NAT=group creates an IAM role and policies for each NAT, so it cannot run with an existing instance profile (TESTING_SSM_ROLE='${config.instanceProfileName}'): unset TESTING_SSM_ROLE`,
      );
    }
    new AwsProvider(this, 'aws', { region: config.region, defaultTags: [{ tags: { Stack: id } }] });
    requireSupportedVersions(this);
    if (config.stateBucket) {
      new S3Backend(this, { bucket: config.stateBucket, key: config.stateKey ?? `${id}.tfstate`, region: config.region, encrypt: true });
    }
    this.network = new Network(this, 'network', {
      name: 'nat-example',
      cidr: '10.8.0.0/16',
      azs: [`${config.region}a`, `${config.region}b`],
      // A group has one NAT per zone, each in its zone's public subnet (subnet i is in zone i % 2).
      publicSubnets: natKind === 'group' ? ['10.8.0.0/24', '10.8.4.0/24'] : ['10.8.0.0/24'],
      privateSubnets: ['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24'],
      privateRouteTables: 'per-az',
      enableSsmEndpoints: true,
    });
    const testRole = config.instanceProfileName ? undefined : new SsmInstanceRole(this, 'test-role', { name: 'nat-example-ssm' });
    const instanceProfileName = config.instanceProfileName ?? testRole!.instanceProfileName;
    if (natKind === 'group') {
      this.natGroup = this.addNatGroup();
    } else {
      // The pipeline's build role, which brings its own profile, may create neither IAM policies nor
      // CloudWatch alarms: then the example goes without the metrics publisher and the alarms.
      const observed = testRole !== undefined;
      this.nat = new NatInstance(this, 'nat', {
        name: 'nat-example',
        mode: 'dual',
        vpcId: this.network.vpcId,
        publicSubnet: this.network.publicSubnets[0],
        privateSubnets: this.network.privateSubnets,
        routeTableIds: this.network.privateRouteTableIds,
        elasticIp: true,
        internetGateway: this.network.internetGateway,
        instanceProfileName,
        instanceRoleName: testRole?.roleName,
        metrics: observed,
        alarms: observed
          ? undefined
          : { recoverOnSystemFailure: false, rebootOnInstanceFailure: false, egressProbe: false, connectionTracking: false },
      });
    }
    this.testInstances = new PrivateTestInstances(this, 'test-instances', {
      vpcId: this.network.vpcId,
      subnets: this.network.privateSubnets,
      instanceProfileName,
    });
    if (this.nat) {
      new TerraformOutput(this, 'public-ip', { value: this.nat.publicIp, description: 'Egress IP of the NAT instance' });
    }
    new TerraformOutput(this, 'test-instances-ids', { value: this.testInstances.instanceIds, description: 'Private test instances' });
    if (this.nat) {
      new TerraformOutput(this, 'nat-instance-id', { value: this.nat.instanceId ?? '' });
    }
  }

  /**
   * One self-healing NAT per zone, each with its own role (the group's policies attach to it),
   * holding its zone's private route table; the zone's egress IP and Auto Scaling group as outputs.
   */
  private addNatGroup(): NatGroup {
    const members = natGroupMembersByZone(this.network);
    const group = new NatGroup(this, 'nat', {
      name: 'nat-example',
      mode: 'dual',
      vpcId: this.network.vpcId,
      privateSubnets: this.network.privateSubnets,
      members,
      natProps: { elasticIp: true, internetGateway: this.network.internetGateway },
    });
    const zones = members.map((member) => member.publicSubnet.availabilityZone!);
    const byZone = (values: string[]) => Object.fromEntries(zones.map((zone, i) => [zone, values[i]]));
    new TerraformOutput(this, 'public-ips', { value: byZone(group.publicIps), description: 'Egress IP of each zone’s NAT, by zone' });
    new TerraformOutput(this, 'nat-auto-scaling-groups', {
      value: byZone(group.nats.map((nat) => nat.autoScalingGroup!.autoScalingGroupName)),
      description: 'Auto Scaling group of each zone’s NAT, by zone',
    });
    return group;
  }
}
