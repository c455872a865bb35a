import { Testing } from 'cdktf';
import { PrivateTestInstances } from '../../modules/connectivity';
import { NatExampleStack, natExampleConfigFromEnv } from '../../stacks/nat-example';
import { Synthesized, synthesize, synthesizeStack, TfBlock, warningsOf } from './support/synth';
import { userDataOf } from '../support/user-data-of';
import { parse } from 'yaml';
import { gzipSync } from 'zlib';
import { EC2_USER_DATA_LIMIT } from '../../scripts/validate/user-data-check';

function synthExample(env: NodeJS.ProcessEnv = {}): Synthesized<NatExampleStack> {
  return synthesizeStack(new NatExampleStack(Testing.app(), 'nat-example', natExampleConfigFromEnv(env)));
}

const byName = (blocks: Record<string, TfBlock>) => (name: string) => blocks[name];

describe('natExampleConfigFromEnv', () => {
  it('GIVEN no environment THEN the region is eu-central-1 with local state and a created role', () => {
    expect(natExampleConfigFromEnv({})).toEqual({
      region: 'eu-central-1',
      instanceProfileName: undefined,
      stateBucket: undefined,
      stateKey: undefined,
      nat: 'instance',
    });
  });

  it('GIVEN NAT_EXAMPLE_NAT=group THEN the NAT is a group; GIVEN it empty THEN the one instance', () => {
    expect(natExampleConfigFromEnv({ NAT_EXAMPLE_NAT: 'group' }).nat).toBe('group');
    expect(natExampleConfigFromEnv({ NAT_EXAMPLE_NAT: 'instance' }).nat).toBe('instance');
    expect(natExampleConfigFromEnv({ NAT_EXAMPLE_NAT: '' }).nat).toBe('instance');
  });

  it('GIVEN NAT_EXAMPLE_NAT with any other value THEN a clear error names the variable, its values and what it got', () => {
    for (const value of ['Group', 'gateway', 'groups']) {
      expect(() => natExampleConfigFromEnv({ NAT_EXAMPLE_NAT: value })).toThrow(
        `NAT_EXAMPLE_NAT must be one of instance, group (default instance), got '${value}'`,
      );
    }
  });

  it('GIVEN AWS_REGION THEN it is the region; GIVEN NAT_EXAMPLE_REGION too THEN that one wins', () => {
    expect(natExampleConfigFromEnv({ AWS_REGION: 'us-east-2' }).region).toBe('us-east-2');
    expect(natExampleConfigFromEnv({ AWS_REGION: 'us-east-2', NAT_EXAMPLE_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
  });

  it('GIVEN empty variables THEN they count as unset', () => {
    expect(natExampleConfigFromEnv({ NAT_STATE_BUCKET: '', TESTING_SSM_ROLE: '' })).toMatchObject({
      stateBucket: undefined,
      instanceProfileName: undefined,
    });
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
    expect(synth.only('aws_eip').block.network_interface).toBe(
      synth.ref('aws_instance', natInstanceNames[0], 'primary_network_interface_id'),
    );
    expect(userDataOf(synth.json, nat)).toContain('NAT_MODE=dual');
  });

  it("THEN the Elastic IP depends on the network's internet gateway (it is associated as it is created)", () => {
    const { name: gatewayName } = synth.only('aws_internet_gateway');
    expect(synth.only('aws_eip').block.depends_on).toEqual([`aws_internet_gateway.${gatewayName}`]);
  });

  it('THEN the three SSM interface endpoints exist', () => {
    expect(
      Object.values(synth.resources('aws_vpc_endpoint'))
        .map((endpoint) => String(endpoint.service_name).split('.').pop())
        .sort(),
    ).toEqual(['ec2messages', 'ssm', 'ssmmessages']);
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
  const synth = synthExample({
    NAT_EXAMPLE_REGION: 'eu-west-1',
    NAT_STATE_BUCKET: 'state-bucket',
    TESTING_SSM_ROLE: 'pipeline-ssm-profile',
  });

  it('THEN the region and zones follow NAT_EXAMPLE_REGION', () => {
    expect(synth.json.provider.aws).toEqual([expect.objectContaining({ region: 'eu-west-1' })]);
    expect(new Set(Object.values(synth.resources('aws_subnet')).map((subnet) => subnet.availability_zone))).toEqual(
      new Set(['eu-west-1a', 'eu-west-1b']),
    );
  });

  it('THEN state goes to the encrypted S3 bucket under the default key', () => {
    expect(synth.json.terraform.backend.s3).toEqual({
      bucket: 'state-bucket',
      key: 'nat-example.tfstate',
      region: 'eu-west-1',
      encrypt: true,
    });
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

describe('nat-example stack with NAT_EXAMPLE_NAT=group', () => {
  const synth = synthExample({ NAT_EXAMPLE_NAT: 'group' });
  const subnets = synth.resources('aws_subnet');
  const subnetNamed = (cidr: string) => Object.keys(subnets).find((key) => subnets[key].cidr_block === cidr)!;
  const subnetRef = (cidr: string) => synth.ref('aws_subnet', subnetNamed(cidr), 'id');
  const zoneOfRef = (ref: string) =>
    subnets[Object.keys(subnets).find((key) => subnetRef(subnets[key].cidr_block) === ref)!].availability_zone;
  /** The route table a subnet is associated with, as a reference. */
  const tableOf = (cidr: string) =>
    Object.values(synth.resources('aws_route_table_association')).find((association) => association.subnet_id === subnetRef(cidr))!
      .route_table_id;
  const templates = synth.resources('aws_launch_template');
  const groups = Object.values(synth.resources('aws_autoscaling_group'));
  /** The NAT launched in each zone: its Auto Scaling group's zone → its template's NAT settings file. */
  const settingsByZone = Object.fromEntries(
    groups.map((group) => {
      const templateName = /aws_launch_template\.([\w-]+)\.id/.exec(group.launch_template.id)![1];
      const local = /^\$\{base64gzip\(local\.([\w-]+)\)\}$/.exec(templates[templateName].user_data)![1];
      const document = parse(synth.json.locals[local]) as { write_files: Array<{ path: string; content: string }> };
      const settings = document.write_files.find((file) => file.path === '/etc/nat-instance/settings')!.content;
      expect(group.vpc_zone_identifier).toHaveLength(1);
      return [zoneOfRef(group.vpc_zone_identifier[0]), settings];
    }),
  );
  const setting = (zone: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(settingsByZone[zone])?.[1];
  const instances = synth.resources('aws_instance');

  it('THEN a second public subnet (10.8.4.0/24) puts a public subnet in each zone; the private subnets are unchanged', () => {
    const publics = Object.values(subnets).filter((subnet) => subnet.map_public_ip_on_launch === true);
    const privates = Object.values(subnets).filter((subnet) => subnet.map_public_ip_on_launch === false);
    expect(publics.map((subnet) => [subnet.cidr_block, subnet.availability_zone])).toEqual([
      ['10.8.0.0/24', 'eu-central-1a'],
      ['10.8.4.0/24', 'eu-central-1b'],
    ]);
    expect(privates.map((subnet) => subnet.cidr_block)).toEqual(['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24']);
  });

  it('THEN each zone has one self-healing NAT (an Auto Scaling group of one from its launch template) in its public subnet, and no NAT instance', () => {
    expect(groups).toHaveLength(2);
    expect(Object.keys(templates)).toHaveLength(2);
    for (const group of groups) expect(group).toMatchObject({ min_size: 1, max_size: 1, desired_capacity: 1 });
    expect(groups.map((group) => group.vpc_zone_identifier[0]).sort()).toEqual([subnetRef('10.8.0.0/24'), subnetRef('10.8.4.0/24')].sort());
    expect(Object.keys(settingsByZone).sort()).toEqual(['eu-central-1a', 'eu-central-1b']);
    expect(Object.values(instances).filter((instance) => instance.tags?.Project !== 'NAT-Test')).toEqual([]);
  });

  it("THEN each NAT is dual, claims its own zone's private route table at boot, forwards from a private subnet of its zone and translates all three", () => {
    const expected = {
      'eu-central-1a': { table: tableOf('10.8.1.0/24'), forwarding: '10.8.1.0/24' },
      'eu-central-1b': { table: tableOf('10.8.2.0/24'), forwarding: '10.8.2.0/24' },
    };
    expect(tableOf('10.8.3.0/24')).toBe(expected['eu-central-1a'].table);
    expect(expected['eu-central-1a'].table).not.toBe(expected['eu-central-1b'].table);
    for (const [zone, { table, forwarding }] of Object.entries(expected)) {
      expect(setting(zone, 'NAT_MODE')).toBe('dual');
      expect(setting(zone, 'NAT_ROUTE_MODE')).toBe('self-claim');
      expect(setting(zone, 'NAT_ROUTE_TABLE_IDS')).toBe(table);
      expect(setting(zone, 'NAT_FORWARDING_SUBNET_CIDR')).toBe(forwarding);
      expect(setting(zone, 'NAT_PRIVATE_CIDRS')).toBe('10.8.1.0/24,10.8.2.0/24,10.8.3.0/24');
      // The static forwarding interface the NAT attaches at boot: in its zone, source/destination check off.
      const eniName = /aws_network_interface\.([\w-]+)\.id/.exec(setting(zone, 'NAT_FORWARDING_INTERFACE_ID')!)![1];
      expect(synth.resources('aws_network_interface')[eniName]).toMatchObject({
        subnet_id: subnetRef(forwarding),
        source_dest_check: false,
      });
    }
    // The NATs write the routes themselves; Terraform creates none towards them.
    expect(Object.values(synth.resources('aws_route')).filter((route) => route.network_interface_id)).toEqual([]);
  });

  it("THEN the output public-ips gives each zone's egress IP: the Elastic IP its NAT associates at boot", () => {
    const eips = synth.resources('aws_eip');
    expect(Object.keys(eips)).toHaveLength(2);
    const output = synth.json.output['public-ips'].value as Record<string, string>;
    expect(Object.keys(output).sort()).toEqual(['eu-central-1a', 'eu-central-1b']);
    for (const zone of Object.keys(output)) {
      const eipName = /aws_eip\.([\w-]+)\.allocation_id/.exec(setting(zone, 'NAT_ELASTIC_IP_ALLOCATION_ID')!)![1];
      expect(output[zone]).toBe(synth.ref('aws_eip', eipName, 'public_ip'));
    }
    expect(new Set(Object.values(output)).size).toBe(2);
  });

  it('THEN the output nat-auto-scaling-groups names the group of each zone; public-ip and nat-instance-id are gone', () => {
    const output = synth.json.output['nat-auto-scaling-groups'].value as Record<string, string>;
    for (const [zone, ref] of Object.entries(output)) {
      const name = /aws_autoscaling_group\.([\w-]+)\.name/.exec(ref)![1];
      expect(zoneOfRef(synth.resources('aws_autoscaling_group')[name].vpc_zone_identifier[0])).toBe(zone);
    }
    expect(Object.keys(synth.json.output).sort()).toEqual(['nat-auto-scaling-groups', 'public-ips', 'test-instances-ids']);
  });

  it("THEN every NAT has a heartbeat parameter, its own role and the group's agent policy", () => {
    expect(
      Object.values(synth.resources('aws_ssm_parameter'))
        .map((parameter) => parameter.name)
        .sort(),
    ).toEqual(['/nat-instance/nat-example/a/heartbeat', '/nat-instance/nat-example/b/heartbeat']);
    expect(
      Object.values(synth.resources('aws_iam_role'))
        .map((role) => role.name)
        .sort(),
    ).toEqual(['nat-example-a', 'nat-example-b', 'nat-example-ssm']);
    expect(
      Object.values(synth.resources('aws_iam_policy'))
        .map((policy) => policy.name)
        .filter((name) => name.endsWith('-agent'))
        .sort(),
    ).toEqual(['nat-example-a-agent', 'nat-example-b-agent']);
  });

  it('THEN the three test instances stay, one per private subnet, with the SSM profile', () => {
    const tests = Object.values(instances).filter((instance) => instance.tags?.Project === 'NAT-Test');
    expect(tests.map((instance) => instance.subnet_id)).toEqual(['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24'].map(subnetRef));
    const profile = Object.entries(synth.resources('aws_iam_instance_profile')).find(([, block]) => block.name === 'nat-example-ssm')![0];
    for (const instance of tests) expect(instance.iam_instance_profile).toBe(synth.ref('aws_iam_instance_profile', profile, 'name'));
    expect(synth.json.output['test-instances-ids'].value).toHaveLength(3);
  });

  it('THEN every launch template requires IMDSv2 and encrypts its root volume, and its user data fits EC2 once compressed', () => {
    for (const template of Object.values(templates)) {
      expect(template.metadata_options.http_tokens).toBe('required');
      expect(template.block_device_mappings[0].ebs.encrypted).toBe('true');
      const local = /local\.([\w-]+)/.exec(template.user_data)![1];
      expect(gzipSync(synth.json.locals[local] as string).length).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT);
    }
  });

  it('THEN synth raises no warning', () => {
    expect(warningsOf(synth.built)).toEqual([]);
  });

  it('GIVEN also TESTING_SSM_ROLE THEN synth fails naming both variables (each NAT needs a role of its own)', () => {
    expect(() => synthExample({ NAT_EXAMPLE_NAT: 'group', TESTING_SSM_ROLE: 'pipeline-ssm-profile' })).toThrow(
      /NAT_EXAMPLE_NAT=group creates an IAM role and policies for each NAT.*TESTING_SSM_ROLE='pipeline-ssm-profile'/,
    );
  });

  it("GIVEN 'nat' set in code to neither value THEN the stack refuses it", () => {
    expect(
      () => new NatExampleStack(Testing.app(), 'nat-example', { region: 'eu-central-1', nat: 'gateway' as unknown as 'group' }),
    ).toThrow(/'nat' \(NAT_EXAMPLE_NAT\) must be one of instance, group, got 'gateway'/);
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
