import { Construct } from 'constructs';
import { S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { requireSupportedVersions } from './supported-versions';
import { Network } from '../modules/vpc';
import { NatInstance } from '../modules/nat';
import { SsmInstanceRole } from '../modules/iam';
import { PrivateTestInstances } from '../modules/connectivity';

export interface NatExampleConfig {
  /** AWS region. */
  readonly region: string;
  /** An existing instance profile (the pipeline passes one, since its build role cannot create IAM roles). */
  readonly instanceProfileName?: string;
  /** S3 state: bucket and key; local state when absent. */
  readonly stateBucket?: string;
  readonly stateKey?: string;
}

/** Reads the example's settings from the environment: nothing to edit in code. */
export function natExampleConfigFromEnv(env: NodeJS.ProcessEnv): NatExampleConfig {
  return {
    region: env.NAT_EXAMPLE_REGION ?? env.AWS_REGION ?? 'eu-central-1',
    instanceProfileName: env.TESTING_SSM_ROLE || undefined,
    stateBucket: env.NAT_STATE_BUCKET || undefined,
    stateKey: env.NAT_STATE_KEY || undefined,
  };
}

/**
 * The embedded default (the multi-subnet case): VPC 10.8.0.0/16, one public and three
 * private subnets over two zones with one route table per zone, a dual-interface NAT with an
 * Elastic IP, SSM endpoints, and one private test instance per private subnet.
 */
export class NatExampleStack extends TerraformStack {
  public readonly network: Network;
  public readonly nat: NatInstance;
  public readonly testInstances: PrivateTestInstances;

  constructor(scope: Construct, id: string, config: NatExampleConfig) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: config.region, defaultTags: [{ tags: { Stack: id } }] });
    requireSupportedVersions(this);
    if (config.stateBucket) {
      new S3Backend(this, { bucket: config.stateBucket, key: config.stateKey ?? `${id}.tfstate`, region: config.region, encrypt: true });
    }
    this.network = new Network(this, 'network', {
      name: 'nat-example',
      cidr: '10.8.0.0/16',
      azs: [`${config.region}a`, `${config.region}b`],
      publicSubnets: ['10.8.0.0/24'],
      privateSubnets: ['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24'],
      privateRouteTables: 'per-az',
      enableSsmEndpoints: true,
    });
    const testRole = config.instanceProfileName ? undefined : new SsmInstanceRole(this, 'test-role', { name: 'nat-example-ssm' });
    const instanceProfileName = config.instanceProfileName ?? testRole!.instanceProfileName;
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
    this.testInstances = new PrivateTestInstances(this, 'test-instances', {
      vpcId: this.network.vpcId,
      subnets: this.network.privateSubnets,
      instanceProfileName,
    });
    new TerraformOutput(this, 'public-ip', { value: this.nat.publicIp, description: 'Egress IP of the NAT instance' });
    new TerraformOutput(this, 'test-instances-ids', { value: this.testInstances.instanceIds, description: 'Private test instances' });
    new TerraformOutput(this, 'nat-instance-id', { value: this.nat.instanceId ?? '' });
  }
}
