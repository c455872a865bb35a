import { Testing } from 'cdktf';
import { PrivateTestInstances } from '../../modules/connectivity';
import { NatExampleStack, natExampleConfigFromEnv } from '../../stacks/nat-example';
import { Synthesized, synthesize, synthesizeStack, TfBlock, warningsOf } from './support/synth';
import { userDataOf } from '../support/user-data-of';

function synthExample(env: NodeJS.ProcessEnv = {}): Synthesized<NatExampleStack> {
  return synthesizeStack(new NatExampleStack(Testing.app(), 'nat-example', natExampleConfigFromEnv(env)));
}

const byName = (blocks: Record<string, TfBlock>) => (name: string) => blocks[name];

describe('natExampleConfigFromEnv', () => {
  it('GIVEN no environment THEN the region is eu-central-1 with local state and a created role', () => {
    expect(natExampleConfigFromEnv({})).toEqual({ region: 'eu-central-1', instanceProfileName: undefined, stateBucket: undefined, stateKey: undefined });
  });

  it('GIVEN AWS_REGION THEN it is the region; GIVEN NAT_EXAMPLE_REGION too THEN that one wins', () => {
    expect(natExampleConfigFromEnv({ AWS_REGION: 'us-east-2' }).region).toBe('us-east-2');
    expect(natExampleConfigFromEnv({ AWS_REGION: 'us-east-2', NAT_EXAMPLE_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
  });

  it('GIVEN empty variables THEN they count as unset', () => {
    expect(natExampleConfigFromEnv({ NAT_STATE_BUCKET: '', TESTING_SSM_ROLE: '' })).toMatchObject({ stateBucket: undefined, instanceProfileName: undefined });
  });
});

describe('nat-example stack with no environment', () => {
  const synth = synthExample();
  const subnets = synth.resources('aws_subnet');
  const subnetRef = (cidr: string) => {
    const name = Object.keys(subnets).find((key) => subnets[key].cidr_block === cidr)!;
    return synth.ref('aws_subnet', name, 'id');
  };
  const instances = synth.resources('aws_instance');
  const testInstanceNames = Object.keys(instances).filter((name) => instances[name].tags?.Project === 'NAT-Test');
  const natInstanceNames = Object.keys(instances).filter((name) => !testInstanceNames.includes(name));

  it('THEN the provider uses eu-central-1 and subnets its zones a and b', () => {
    expect(synth.json.provider.aws).toEqual([expect.objectContaining({ region: 'eu-central-1' })]);
    expect(new Set(Object.values(subnets).map((subnet) => subnet.availability_zone))).toEqual(new Set(['eu-central-1a', 'eu-central-1b']));
  });

  it('THEN state is local (no S3 backend)', () => {
    expect(synth.json.terraform?.backend?.s3).toBeUndefined();
  });

  it('THEN the VPC is 10.8.0.0/16 with one public and three private subnets', () => {
    expect(synth.only('aws_vpc').block.cidr_block).toBe('10.8.0.0/16');
    const publics = Object.values(subnets).filter((subnet) => subnet.map_public_ip_on_launch === true);
    const privates = Object.values(subnets).filter((subnet) => subnet.map_public_ip_on_launch === false);
    expect(publics.map((subnet) => subnet.cidr_block)).toEqual(['10.8.0.0/24']);
    expect(privates.map((subnet) => subnet.cidr_block)).toEqual(['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24']);
  });

  it('THEN two private route tables each send 0.0.0.0/0 to the forwarding interface, which has source/dest check off', () => {
    const { name: eniName, block: eni } = synth.only('aws_network_interface');
    expect(eni.source_dest_check).toBe(false);
    expect(eni.subnet_id).toBe(subnetRef('10.8.1.0/24'));
    const natRoutes = Object.values(synth.resources('aws_route')).filter(
      (route) => route.destination_cidr_block === '0.0.0.0/0' && route.network_interface_id,
    );
    expect(natRoutes).toHaveLength(2);
    expect(natRoutes.every((route) => route.network_interface_id === synth.ref('aws_network_interface', eniName, 'id'))).toBe(true);
    expect(new Set(natRoutes.map((route) => route.route_table_id)).size).toBe(2);
    expect(Object.keys(synth.resources('aws_route_table'))).toHaveLength(3);
  });

  it('THEN one dual-interface NAT instance in the public subnet has an Elastic IP on its primary interface', () => {
    expect(natInstanceNames).toHaveLength(1);
    const nat = instances[natInstanceNames[0]];
    expect(nat.subnet_id).toBe(subnetRef('10.8.0.0/24'));
    expect(synth.only('aws_network_interface_attachment').block.device_index).toBe(1);
    expect(synth.only('aws_eip').block.network_interface).toBe(synth.ref('aws_instance', natInstanceNames[0], 'primary_network_interface_id'));
    expect(userDataOf(synth.json, nat)).toContain('NAT_MODE=dual');
  });

  it("THEN the Elastic IP depends on the network's internet gateway (it is associated as it is created)", () => {
    const { name: gatewayName } = synth.only('aws_internet_gateway');
    expect(synth.only('aws_eip').block.depends_on).toEqual([`aws_internet_gateway.${gatewayName}`]);
  });

  it('THEN the three SSM interface endpoints exist', () => {
    expect(Object.values(synth.resources('aws_vpc_endpoint')).map((endpoint) => String(endpoint.service_name).split('.').pop()).sort()).toEqual([
      'ec2messages',
      'ssm',
      'ssmmessages',
    ]);
  });

  it('THEN three test instances, one per private subnet, have no public IP, the SSM profile and tag Project=NAT-Test', () => {
    expect(testInstanceNames).toHaveLength(3);
    const tests = testInstanceNames.map(byName(instances));
    expect(tests.map((instance) => instance.subnet_id)).toEqual(['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24'].map(subnetRef));
    const { name: profileName } = synth.only('aws_iam_instance_profile');
    for (const instance of tests) {
      expect(instance.associate_public_ip_address).toBe(false);
      expect(instance.iam_instance_profile).toBe(synth.ref('aws_iam_instance_profile', profileName, 'name'));
    }
  });

  it('THEN every instance requires IMDSv2 and encrypts its root volume', () => {
    for (const instance of Object.values(instances)) {
      expect(instance.metadata_options.http_tokens).toBe('required');
      expect(instance.root_block_device.encrypted).toBe(true);
    }
  });

  it('THEN the outputs public-ip and test-instances-ids name the Elastic IP and the test instances', () => {
    expect(synth.json.output['public-ip'].value).toBe(synth.ref('aws_eip', synth.only('aws_eip').name, 'public_ip'));
    expect(synth.json.output['test-instances-ids'].value).toEqual(testInstanceNames.map((name) => synth.ref('aws_instance', name, 'id')));
  });

  it('THEN synth raises no warning', () => {
    expect(warningsOf(synth.built)).toEqual([]);
  });
});

describe('nat-example stack configured through the environment', () => {
  const synth = synthExample({ NAT_EXAMPLE_REGION: 'eu-west-1', NAT_STATE_BUCKET: 'state-bucket', TESTING_SSM_ROLE: 'pipeline-ssm-profile' });

  it('THEN the region and zones follow NAT_EXAMPLE_REGION', () => {
    expect(synth.json.provider.aws).toEqual([expect.objectContaining({ region: 'eu-west-1' })]);
    expect(new Set(Object.values(synth.resources('aws_subnet')).map((subnet) => subnet.availability_zone))).toEqual(new Set(['eu-west-1a', 'eu-west-1b']));
  });

  it('THEN state goes to the encrypted S3 bucket under the default key', () => {
    expect(synth.json.terraform.backend.s3).toEqual({ bucket: 'state-bucket', key: 'nat-example.tfstate', region: 'eu-west-1', encrypt: true });
  });

  it('THEN the given instance profile is used by every instance and no IAM role is created', () => {
    expect(synth.resources('aws_iam_role')).toEqual({});
    for (const instance of Object.values(synth.resources('aws_instance'))) {
      expect(instance.iam_instance_profile).toBe('pipeline-ssm-profile');
    }
  });

  it('GIVEN NAT_STATE_KEY THEN it is the state key', () => {
    const keyed = synthExample({ NAT_STATE_BUCKET: 'state-bucket', NAT_STATE_KEY: 'envs/dev.tfstate' });
    expect(keyed.json.terraform.backend.s3).toMatchObject({ bucket: 'state-bucket', key: 'envs/dev.tfstate', region: 'eu-central-1' });
  });
});

describe('PrivateTestInstances on their own', () => {
  const subnets = [
    { id: 'subnet-a', cidrBlock: '10.8.1.0/24' },
    { id: 'subnet-b', cidrBlock: '10.8.2.0/24' },
  ];
  const synthTests = (instanceType?: string) =>
    synthesize((stack) => new PrivateTestInstances(stack, 'tests', { vpcId: 'vpc-1', subnets, instanceProfileName: 'ssm', instanceType }));

  it('GIVEN two subnets THEN two instances without public IP, egress-only security group, tagged Project=NAT-Test', () => {
    const synth = synthTests();
    const instances = Object.values(synth.resources('aws_instance'));
    expect(instances.map((instance) => instance.subnet_id)).toEqual(['subnet-a', 'subnet-b']);
    for (const instance of instances) {
      expect(instance).toMatchObject({ associate_public_ip_address: false, iam_instance_profile: 'ssm', instance_type: 't4g.nano' });
      expect(instance.tags).toMatchObject({ Project: 'NAT-Test' });
      expect(instance.metadata_options).toMatchObject({ http_tokens: 'required', http_put_response_hop_limit: 1 });
    }
    const { block: group } = synth.only('aws_security_group');
    expect(group.ingress ?? []).toEqual([]);
    expect(group.egress).toEqual([expect.objectContaining({ protocol: '-1', cidr_blocks: ['0.0.0.0/0'] })]);
    expect(Object.values(synth.dataSources('aws_ssm_parameter')).map((p) => p.name)).toEqual([
      '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
    ]);
  });

  it('GIVEN an x86 instance type THEN the AMI is the x86_64 one', () => {
    const synth = synthTests('t3.micro');
    expect(Object.values(synth.dataSources('aws_ssm_parameter')).map((p) => p.name)).toEqual([
      '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    ]);
  });
});
