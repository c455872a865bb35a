import { TerraformStack } from 'cdktf';
import { NatInstance, NatInstanceProps } from '../../modules/nat';
import { Network } from '../../modules/vpc';
import { Synthesized, synthesize, TfBlock, warningsOf } from './support/synth';
import { userDataOf } from '../support/user-data-of';
import { EXAMPLE_NETWORK, natOnExampleNetwork } from './support/example-nat';
import { evaluateTerraformString } from './support/terraform-console';

const PRIVATE_CIDRS = EXAMPLE_NETWORK.privateSubnets;

interface Built {
  readonly network: Network;
  readonly nat: NatInstance;
}

/**
 * GIVEN the nat-example layout (one public subnet in zone a, three private subnets over zones
 * a/b/a, one private route table per zone) and a NatInstance wired to it with `props` on top.
 */
function synthNat(props: Partial<NatInstanceProps> = {}, build?: (stack: TerraformStack) => void): Synthesized<Built> {
  return synthesize(
    (stack) => {
      build?.(stack);
      return natOnExampleNetwork(stack, props);
    },
    ({ network, nat }) => ({
      privateRouteTableIds: network.privateRouteTableIds,
      publicSubnetId: network.publicSubnetIds[0],
      privateSubnetIds: network.privateSubnetIds,
      vpcId: network.vpcId,
      instanceId: nat.instanceId,
      publicIp: nat.publicIp,
      forwardingInterfaceId: nat.forwardingInterfaceId,
      securityGroupId: nat.securityGroupId,
    }),
  );
}

function natInstance(synth: Synthesized<Built>): { name: string; block: TfBlock } {
  return synth.only('aws_instance');
}

/** The 0.0.0.0/0 routes the NAT created (the Network's public route goes to the IGW). */
function natDefaultRoutes(synth: Synthesized<Built>): TfBlock[] {
  return Object.values(synth.resources('aws_route')).filter((route) => route.destination_cidr_block === '0.0.0.0/0' && !route.gateway_id);
}

function ingressRules(synth: Synthesized<Built>): TfBlock[] {
  const groups = Object.entries(synth.resources('aws_security_group'));
  const nat = groups.filter(([name]) => synth.ref('aws_security_group', name, 'id') === synth.exposed.securityGroupId);
  expect(nat).toHaveLength(1);
  return nat[0][1].ingress;
}

function amiParameterNames(synth: Synthesized<Built>): string[] {
  return Object.values(synth.dataSources('aws_ssm_parameter')).map((parameter) => parameter.name);
}

describe('NatInstance in single mode with defaults', () => {
  const synth = synthNat();
  const { name: instanceName, block: instance } = natInstance(synth);
  const primaryEni = synth.ref('aws_instance', instanceName, 'primary_network_interface_id');

  it('THEN the instance sits in the public subnet with a public IP and source/dest check off', () => {
    expect(instance.subnet_id).toBe(synth.exposed.publicSubnetId);
    expect(instance.associate_public_ip_address).toBe(true);
    expect(instance.source_dest_check).toBe(false);
    expect(instance.instance_type).toBe('t4g.nano');
  });

  it('THEN every private route table gets 0.0.0.0/0 to the primary interface, by network-interface ID', () => {
    const routes = natDefaultRoutes(synth);
    expect(routes.map((route) => route.route_table_id).sort()).toEqual([...synth.exposed.privateRouteTableIds].sort());
    for (const route of routes) {
      expect(route.network_interface_id).toBe(primaryEni);
      expect(route.instance_id).toBeUndefined();
    }
    expect(synth.exposed.forwardingInterfaceId).toBe(primaryEni);
  });

  it('THEN there is no second interface', () => {
    expect(synth.resources('aws_network_interface')).toEqual({});
    expect(synth.resources('aws_network_interface_attachment')).toEqual({});
  });

  it('THEN an Elastic IP is associated with the primary interface, not the instance, and is the public IP', () => {
    const { name: eipName, block: eip } = synth.only('aws_eip');
    expect(eip.domain).toBe('vpc');
    expect(eip.network_interface).toBe(primaryEni);
    expect(eip.instance).toBeUndefined();
    expect(synth.exposed.publicIp).toBe(synth.ref('aws_eip', eipName, 'public_ip'));
  });

  it('THEN neither the Elastic IP nor the instance has an explicit dependency (no internetGateway given, routes by Terraform)', () => {
    expect(synth.only('aws_eip').block.depends_on).toBeUndefined();
    expect(instance.depends_on).toBeUndefined();
  });

  it('THEN IMDSv2 is required with a hop limit of 1', () => {
    expect(instance.metadata_options).toMatchObject({ http_tokens: 'required', http_put_response_hop_limit: 1, http_endpoint: 'enabled' });
  });

  it('THEN the root volume is an encrypted gp3 volume of 8 GiB', () => {
    expect(instance.root_block_device).toMatchObject({ volume_type: 'gp3', encrypted: true, volume_size: 8 });
  });

  it('THEN the AMI is the latest arm64 Amazon Linux 2023 from the public SSM parameter, and AMI updates do not replace it', () => {
    const parameters = Object.entries(synth.dataSources('aws_ssm_parameter'));
    expect(parameters).toHaveLength(1);
    const [parameterName, parameter] = parameters[0];
    expect(parameter.name).toBe('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64');
    expect(instance.ami).toBe(`\${data.aws_ssm_parameter.${parameterName}.insecure_value}`);
    expect(instance.lifecycle?.ignore_changes).toEqual(['ami']);
  });

  it('THEN changed user data replaces the instance (cloud-init writes files only on first boot)', () => {
    expect(userDataOf(synth.json, instance)).toMatch(/^#cloud-config\n/);
    expect(instance.user_data_replace_on_change).toBe(true);
  });

  it('THEN the readable document is kept in a local and handed to EC2 gzip-compressed by Terraform (EC2 takes at most 16 KB)', () => {
    expect(instance.user_data).toBeUndefined();
    expect(instance.user_data_base64).toMatch(/^\$\{base64gzip\(local\.[\w-]+\)\}$/);
  });

  it('THEN the security group admits every protocol from the private subnets only, and nothing else', () => {
    const rules = ingressRules(synth);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ protocol: '-1', from_port: 0, to_port: 0, cidr_blocks: PRIVATE_CIDRS });
    expect(instance.vpc_security_group_ids).toEqual([synth.exposed.securityGroupId]);
  });

  it('THEN no ingress admits SSH or the whole internet', () => {
    for (const rule of ingressRules(synth)) {
      expect(rule.cidr_blocks ?? []).not.toContain('0.0.0.0/0');
      expect(rule.ipv6_cidr_blocks ?? []).not.toContain('::/0');
      expect(rule.protocol === 'tcp' && rule.from_port <= 22 && rule.to_port >= 22).toBe(false);
    }
    expect(instance.key_name).toBeUndefined();
  });

  it('THEN egress is open', () => {
    const group = Object.entries(synth.resources('aws_security_group')).find(
      ([name]) => synth.ref('aws_security_group', name, 'id') === synth.exposed.securityGroupId,
    )![1];
    expect(group.vpc_id).toBe(synth.exposed.vpcId);
    expect(group.egress).toEqual([expect.objectContaining({ protocol: '-1', from_port: 0, to_port: 0, cidr_blocks: ['0.0.0.0/0'] })]);
  });

  it('THEN a role with AmazonSSMManagedInstanceCore (in the partition looked up at plan time) and the metrics policy is the instance profile', () => {
    const { name: roleName, block: role } = synth.only('aws_iam_role');
    expect(JSON.parse(role.assume_role_policy)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    const attachments = Object.values(synth.resources('aws_iam_role_policy_attachment'));
    const partitionNames = Object.keys(synth.dataSources('aws_partition'));
    const ssmCore = partitionNames.map(
      (name) => `arn:\${data.aws_partition.${name}.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    );
    const metricsPolicy = synth.ref('aws_iam_policy', synth.only('aws_iam_policy').name, 'arn');
    expect(attachments).toHaveLength(2);
    expect(attachments.filter((attachment) => ssmCore.includes(attachment.policy_arn))).toHaveLength(1);
    expect(attachments.filter((attachment) => attachment.policy_arn === metricsPolicy)).toHaveLength(1);
    expect(attachments.every((attachment) => attachment.role === synth.ref('aws_iam_role', roleName, 'name'))).toBe(true);
    const { name: profileName, block: profile } = synth.only('aws_iam_instance_profile');
    expect(profile.role).toBe(synth.ref('aws_iam_role', roleName, 'name'));
    expect(instance.iam_instance_profile).toBe(synth.ref('aws_iam_instance_profile', profileName, 'name'));
    expect(JSON.stringify(synth.json.resource)).not.toContain('arn:aws:');
  });

  it('THEN the public attributes point at the resources users wire next, and there is no warning', () => {
    expect(synth.exposed.instanceId).toBe(synth.ref('aws_instance', instanceName, 'id'));
    expect(warningsOf(synth.built.nat)).toEqual([]);
  });
});

describe('NatInstance in dual mode', () => {
  const synth = synthNat({ mode: 'dual' });
  const { name: instanceName, block: instance } = natInstance(synth);
  const { name: eniName, block: eni } = synth.only('aws_network_interface');
  const eniId = synth.ref('aws_network_interface', eniName, 'id');

  it('THEN the instance sits in the public subnet', () => {
    expect(instance.subnet_id).toBe(synth.exposed.publicSubnetId);
  });

  it('THEN a second interface in the first private subnet has source/dest check off and the NAT security group', () => {
    expect(eni.subnet_id).toBe(synth.exposed.privateSubnetIds[0]);
    expect(eni.source_dest_check).toBe(false);
    expect(eni.security_groups).toEqual([synth.exposed.securityGroupId]);
  });

  it('THEN the interface is attached to the instance as device index 1', () => {
    const { block: attachment } = synth.only('aws_network_interface_attachment');
    expect(attachment).toMatchObject({
      instance_id: synth.ref('aws_instance', instanceName, 'id'),
      network_interface_id: eniId,
      device_index: 1,
    });
  });

  it('THEN every private route table sends 0.0.0.0/0 to the second interface', () => {
    const routes = natDefaultRoutes(synth);
    expect(routes.map((route) => route.route_table_id).sort()).toEqual([...synth.exposed.privateRouteTableIds].sort());
    expect(routes.every((route) => route.network_interface_id === eniId)).toBe(true);
    expect(synth.exposed.forwardingInterfaceId).toBe(eniId);
  });

  it('THEN the Elastic IP is on the public (primary) interface, not on the forwarding one nor the instance', () => {
    const { block: eip } = synth.only('aws_eip');
    expect(eip.network_interface).toBe(synth.ref('aws_instance', instanceName, 'primary_network_interface_id'));
    expect(eip.instance).toBeUndefined();
    expect(warningsOf(synth.built.nat)).toEqual([]);
  });
});

describe('NatInstance in dual mode with an explicit forwarding subnet', () => {
  it('GIVEN privateSubnets[2] (same zone as the public subnet) THEN the second interface is created there', () => {
    const synth = synthesize(
      (stack) => {
        const network = new Network(stack, 'network', { ...EXAMPLE_NETWORK, privateRouteTables: 'single' });
        new NatInstance(stack, 'nat', {
          mode: 'dual',
          vpcId: network.vpcId,
          publicSubnet: network.publicSubnets[0],
          privateSubnets: network.privateSubnets,
          forwardingSubnet: network.privateSubnets[2],
          routeTableIds: network.privateRouteTableIds,
        });
        return network;
      },
      (network) => ({ third: network.privateSubnetIds[2] }),
    );
    expect(synth.only('aws_network_interface').block.subnet_id).toBe(synth.exposed.third);
  });
});

describe('NatInstance with an Elastic IP the user owns', () => {
  const OWNED = 'eipalloc-0123456789abcdef0';
  const synth = synthNat({ mode: 'dual', elasticIpAllocationIds: [OWNED] });
  const instanceName = natInstance(synth).name;

  it('THEN no Elastic IP is allocated: the owned one is only associated (destroy removes the association, not the address)', () => {
    expect(synth.resources('aws_eip')).toEqual({});
    const { name, block } = synth.only('aws_eip_association');
    expect(block).toEqual({
      allocation_id: OWNED,
      network_interface_id: synth.ref('aws_instance', instanceName, 'primary_network_interface_id'),
    });
    expect(synth.exposed.publicIp).toBe(synth.ref('aws_eip_association', name, 'public_ip'));
    expect(warningsOf(synth.built.nat)).toEqual([]);
  });
});

describe('NatInstance with two public addresses, one owned and one created', () => {
  const OWNED = 'eipalloc-0123456789abcdef0';
  const synth = synthesize(
    (stack) => natOnExampleNetwork(stack, { mode: 'dual', publicIpCount: 2, elasticIpAllocationIds: [OWNED] }),
    ({ network, nat }) => ({ publicSubnetId: network.publicSubnetIds[0], publicIps: nat.publicIps, securityGroupId: nat.securityGroupId }),
  );
  const { name: instanceName, block: instance } = synth.only('aws_instance');
  const publicEnis = Object.entries(synth.resources('aws_network_interface')).filter(
    ([, eni]) => eni.subnet_id === synth.exposed.publicSubnetId,
  );

  it('THEN the public interface is one of our own with one secondary private address, in the public subnet and the NAT group', () => {
    expect(publicEnis).toHaveLength(1);
    expect(publicEnis[0][1]).toMatchObject({
      private_ips_count: 1,
      security_groups: [synth.exposed.securityGroupId],
      source_dest_check: true,
    });
  });

  it('THEN the instance launches with it as device 0, and names no subnet, group, public address or check of its own (they conflict)', () => {
    expect(instance.network_interface).toEqual([
      { device_index: 0, network_interface_id: synth.ref('aws_network_interface', publicEnis[0][0], 'id') },
    ]);
    for (const argument of ['subnet_id', 'vpc_security_group_ids', 'associate_public_ip_address', 'source_dest_check']) {
      expect({ argument, value: instance[argument] }).toEqual({ argument, value: undefined });
    }
  });

  it('THEN the owned address goes to the primary private address and a created one to the secondary, both by interface', () => {
    const primaryEni = synth.ref('aws_instance', instanceName, 'primary_network_interface_id');
    expect(synth.only('aws_eip_association').block).toEqual({ allocation_id: OWNED, network_interface_id: primaryEni });
    const { block: eip } = synth.only('aws_eip');
    expect(eip.network_interface).toBe(primaryEni);
    // As Terraform evaluates it once the interface exists with primary 10.8.0.10 and secondary 10.8.0.57.
    const eniRef = (attribute: string) => `aws_network_interface.${publicEnis[0][0]}.${attribute}`;
    const applied = String(eip.associate_with_private_ip)
      .replace(eniRef('private_ips'), '["10.8.0.57", "10.8.0.10"]')
      .replace(eniRef('private_ip'), '"10.8.0.10"');
    expect(evaluateTerraformString(applied)).toBe('10.8.0.57');
    expect(synth.exposed.publicIps).toHaveLength(2);
  });

  it('THEN the boot script is told to expect two addresses on the public interface', () => {
    expect(userDataOf(synth.json, instance)).toContain('NAT_PUBLIC_ADDRESS_COUNT=2\n');
  });
});

describe('NatInstance with one public address (the default)', () => {
  it('THEN the boot settings say one address and the instance keeps the interface EC2 creates with it', () => {
    const synth = synthNat();
    const settings = userDataOf(synth.json, natInstance(synth).block).split('- path: ')[1];
    expect(settings).toMatch(/^\/etc\/nat-instance\/settings\n/);
    expect(settings).toContain('\n      NAT_PUBLIC_ADDRESS_COUNT=1\n');
    expect(natInstance(synth).block.network_interface).toBeUndefined();
  });
});

describe('NatInstance in dual mode: both interfaces in one availability zone', () => {
  it('GIVEN zones known at synth (the same) THEN the forwarding interface needs no plan-time check', () => {
    expect(synthNat({ mode: 'dual' }).only('aws_network_interface').block.lifecycle).toBeUndefined();
  });

  it('GIVEN zones known only to Terraform (looked up at plan) THEN the forwarding interface has a precondition comparing its zone with the public one, with a message naming subnets and zones', () => {
    const synth = synthesize((stack) => {
      const network = new Network(stack, 'network', { ...EXAMPLE_NETWORK, azs: undefined, azCount: 2 });
      new NatInstance(stack, 'nat', {
        mode: 'dual',
        vpcId: network.vpcId,
        publicSubnet: network.publicSubnets[0],
        privateSubnets: network.privateSubnets,
        forwardingSubnet: network.privateSubnets[1], // the second zone: Terraform's plan will refuse it
        routeTableIds: network.privateRouteTableIds,
      });
    });
    const { block: eni } = synth.only('aws_network_interface');
    const zones = Object.keys(synth.dataSources('aws_availability_zones'));
    expect(zones).toHaveLength(1);
    const zoneOf = (index: number) => `element(data.aws_availability_zones.${zones[0]}.names, ${index})`;
    expect(eni.lifecycle.precondition).toEqual([
      {
        condition: `\${(${zoneOf(1)} == ${zoneOf(0)})}`,
        error_message: expect.stringMatching(
          /^NAT dual mode: the forwarding interface's subnet \$\{aws_subnet\.\S+\.id\} is in \$\{element\(\S+, 1\)\} but the public subnet \$\{aws_subnet\.\S+\.id\} is in \$\{element\(\S+, 0\)\}/,
        ),
      },
    ]);
  });
});

describe('NatInstance without an Elastic IP', () => {
  it('GIVEN single mode WHEN elasticIp is false THEN there is no aws_eip, the public IP is the instance one, and no warning', () => {
    const synth = synthNat({ elasticIp: false });
    expect(synth.resources('aws_eip')).toEqual({});
    expect(synth.exposed.publicIp).toBe(synth.ref('aws_instance', natInstance(synth).name, 'public_ip'));
    expect(warningsOf(synth.built.nat)).toEqual([]);
  });

  it('GIVEN dual mode WHEN elasticIp is false THEN synth succeeds with a warning naming elasticIp', () => {
    const synth = synthNat({ mode: 'dual', elasticIp: false });
    expect(synth.resources('aws_eip')).toEqual({});
    const warnings = warningsOf(synth.built.nat);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("'elasticIp'");
    expect(warnings[0]).toContain('dual');
  });
});

describe('NatInstance AMI and instance type', () => {
  it('GIVEN t3.nano THEN the x86_64 Amazon Linux 2023 parameter is used', () => {
    const synth = synthNat({ instanceType: 't3.nano' });
    expect(natInstance(synth).block.instance_type).toBe('t3.nano');
    expect(amiParameterNames(synth)).toEqual(['/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64']);
  });

  it('GIVEN a custom amiId THEN it is used and no parameter is looked up', () => {
    const synth = synthNat({ amiId: 'ami-0123456789abcdef0' });
    expect(natInstance(synth).block.ami).toBe('ami-0123456789abcdef0');
    expect(amiParameterNames(synth)).toEqual([]);
  });

  it('GIVEN replaceOnAmiUpdate THEN the AMI is not in ignore_changes', () => {
    const synth = synthNat({ replaceOnAmiUpdate: true });
    expect(natInstance(synth).block.lifecycle?.ignore_changes ?? []).not.toContain('ami');
  });

  it('GIVEN rootVolumeSize 20 THEN the root volume has 20 GiB and stays encrypted gp3', () => {
    const synth = synthNat({ rootVolumeSize: 20 });
    expect(natInstance(synth).block.root_block_device).toMatchObject({ volume_type: 'gp3', encrypted: true, volume_size: 20 });
  });
});

describe('NatInstance security group options', () => {
  const synth = synthNat({
    additionalCidrs: ['172.16.0.0/16'],
    additionalSecurityGroupIds: ['sg-0beef'],
    keyName: 'admin-key',
    sshCidrs: ['198.51.100.0/24'],
    portForwards: [
      { publicPort: 8443, targetIp: '10.8.1.10', targetPort: 443, allowedCidrs: ['203.0.113.0/24'] },
      { publicPort: 5353, protocol: 'udp', targetIp: '10.8.2.20', targetPort: 53, allowedCidrs: ['192.0.2.0/24', '198.51.100.7/32'] },
    ],
  });
  const rules = ingressRules(synth);

  it('THEN all protocols are admitted from the private subnets plus additionalCidrs', () => {
    const fromCidrs = rules.filter((rule) => rule.protocol === '-1' && rule.cidr_blocks);
    expect(fromCidrs).toHaveLength(1);
    expect(fromCidrs[0].cidr_blocks).toEqual([...PRIVATE_CIDRS, '172.16.0.0/16']);
  });

  it('THEN all protocols are admitted from additionalSecurityGroupIds', () => {
    const fromGroups = rules.filter((rule) => rule.security_groups?.length);
    expect(fromGroups).toEqual([expect.objectContaining({ protocol: '-1', security_groups: ['sg-0beef'] })]);
  });

  it('THEN SSH is admitted only from sshCidrs, with the key pair', () => {
    const ssh = rules.filter((rule) => rule.protocol === 'tcp' && rule.from_port === 22);
    expect(ssh).toEqual([expect.objectContaining({ to_port: 22, cidr_blocks: ['198.51.100.0/24'] })]);
    expect(natInstance(synth).block.key_name).toBe('admin-key');
  });

  it('THEN each port forward has one rule for its public port and protocol, only from its allowedCidrs', () => {
    const forwards = rules.filter((rule) => rule.from_port === 8443 || rule.from_port === 5353);
    expect(forwards).toEqual([
      expect.objectContaining({ protocol: 'tcp', from_port: 8443, to_port: 8443, cidr_blocks: ['203.0.113.0/24'] }),
      expect.objectContaining({ protocol: 'udp', from_port: 5353, to_port: 5353, cidr_blocks: ['192.0.2.0/24', '198.51.100.7/32'] }),
    ]);
    expect(rules).toHaveLength(5);
    expect(rules.flatMap((rule) => rule.cidr_blocks ?? [])).not.toContain('0.0.0.0/0');
  });
});

describe('NatInstance with options that change what is created', () => {
  it('GIVEN instanceProfileName THEN no role is created and the profile is used', () => {
    const synth = synthNat({ instanceProfileName: 'existing-profile' });
    expect(synth.resources('aws_iam_role')).toEqual({});
    expect(synth.resources('aws_iam_instance_profile')).toEqual({});
    expect(synth.resources('aws_iam_role_policy_attachment')).toEqual({});
    expect(natInstance(synth).block.iam_instance_profile).toBe('existing-profile');
    expect(synth.built.nat.role).toBeUndefined();
  });

  it('GIVEN routeMode self-claim THEN Terraform manages no 0.0.0.0/0 route (the instance claims them)', () => {
    const synth = synthNat({ routeMode: 'self-claim' });
    expect(natDefaultRoutes(synth)).toEqual([]);
  });

  it('GIVEN routeMode self-claim THEN the instance depends on the attachment of the route-claim policy to its role (it claims routes at boot)', () => {
    const synth = synthNat({ routeMode: 'self-claim' });
    const [policyName] = Object.entries(synth.resources('aws_iam_policy')).find(([, policy]) =>
      String(policy.name).endsWith('-route-claim'),
    )!;
    const attachments = Object.entries(synth.resources('aws_iam_role_policy_attachment')).filter(
      ([, attachment]) => attachment.policy_arn === synth.ref('aws_iam_policy', policyName, 'arn'),
    );
    expect(attachments).toHaveLength(1);
    const [attachmentName, attachment] = attachments[0];
    expect(attachment.role).toBe(synth.ref('aws_iam_role', synth.only('aws_iam_role').name, 'name'));
    expect(natInstance(synth).block.depends_on).toEqual([`aws_iam_role_policy_attachment.${attachmentName}`]);
  });

  it('GIVEN routeMode self-claim with your own instanceProfileName THEN nothing is attached here, so the instance has no dependency, and a warning says to attach the policy', () => {
    const synth = synthNat({ routeMode: 'self-claim', instanceProfileName: 'existing-profile' });
    expect(synth.resources('aws_iam_role_policy_attachment')).toEqual({});
    expect(synth.built.nat.routeClaimPolicy?.attachment).toBeUndefined();
    expect(natInstance(synth).block.depends_on).toBeUndefined();
    const warnings = warningsOf(synth.built.nat);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('attach routeClaimPolicy.policyArn'),
        expect.stringContaining('attach metricsPolicy.policyArn'),
      ]),
    );
    expect(warnings).toHaveLength(2);
  });

  it('GIVEN your own instanceProfileName and its instanceRoleName THEN the route-claim and metrics policies are attached to that role, the instance waits for the route claim, and nothing is warned', () => {
    const synth = synthNat({ routeMode: 'self-claim', instanceProfileName: 'existing-profile', instanceRoleName: 'existing-role' });
    expect(synth.resources('aws_iam_role')).toEqual({});
    const attachments = Object.entries(synth.resources('aws_iam_role_policy_attachment'));
    const policies = synth.resources('aws_iam_policy');
    expect(attachments.map(([, attachment]) => attachment.role)).toEqual(['existing-role', 'existing-role']);
    expect(attachments.map(([, attachment]) => attachment.policy_arn).sort()).toEqual(
      Object.keys(policies)
        .map((name) => synth.ref('aws_iam_policy', name, 'arn'))
        .sort(),
    );
    const routeClaimAttachment = attachments.find(([, attachment]) => attachment.policy_arn.includes('route-claim'))![0];
    expect(natInstance(synth).block.depends_on).toEqual([`aws_iam_role_policy_attachment.${routeClaimAttachment}`]);
    expect(warningsOf(synth.built.nat)).toEqual([]);
  });

  it('GIVEN internetGateway THEN the Elastic IP depends on it (an association may need the gateway), and the instance does not', () => {
    const synth = synthesize((stack) => {
      const network = new Network(stack, 'network', EXAMPLE_NETWORK);
      return new NatInstance(stack, 'nat', {
        vpcId: network.vpcId,
        mode: 'dual',
        publicSubnet: network.publicSubnets[0],
        privateSubnets: network.privateSubnets,
        routeTableIds: network.privateRouteTableIds,
        internetGateway: network.internetGateway,
      });
    });
    const { name: gatewayName } = synth.only('aws_internet_gateway');
    expect(synth.only('aws_eip').block.depends_on).toEqual([`aws_internet_gateway.${gatewayName}`]);
    expect(synth.only('aws_instance').block.depends_on).toBeUndefined();
  });

  it('GIVEN tags and a name THEN the instance, security group and interface carry both', () => {
    const synth = synthNat({ mode: 'dual', name: 'edge', tags: { Team: 'net' } });
    expect(natInstance(synth).block.tags).toEqual({ Team: 'net', Name: 'edge' });
    expect(synth.only('aws_network_interface').block.tags).toMatchObject({ Team: 'net' });
    const group = Object.values(synth.resources('aws_security_group')).find((sg) => sg.name === 'edge-sg');
    expect(group?.tags).toMatchObject({ Team: 'net' });
  });
});
