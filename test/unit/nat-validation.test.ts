import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { NatInstance, NatInstanceProps } from '../../modules/nat';
import { SubnetInfo } from '../../modules/shared/subnet';
import { synthError, synthesize } from './support/synth';
import { userDataOf } from '../support/user-data-of';

const PUBLIC_A: SubnetInfo = { id: 'subnet-public', cidrBlock: '10.8.0.0/24', availabilityZone: 'eu-central-1a' };
const PRIVATE_A: SubnetInfo = { id: 'subnet-a', cidrBlock: '10.8.1.0/24', availabilityZone: 'eu-central-1a' };
const PRIVATE_B: SubnetInfo = { id: 'subnet-b', cidrBlock: '10.8.2.0/24', availabilityZone: 'eu-central-1b' };
const BASE: NatInstanceProps = {
  vpcId: 'vpc-0example',
  publicSubnet: PUBLIC_A,
  privateSubnets: [PRIVATE_A, PRIVATE_B],
  routeTableIds: ['rtb-a', 'rtb-b'],
};

function rejection(props: Partial<NatInstanceProps>): string {
  return synthError((stack) => new NatInstance(stack, 'nat', { ...BASE, ...props }));
}

describe('NatInstance props rejected at synth, each naming the prop', () => {
  it.each([
    // CIDRs
    ['a malformed public subnet CIDR', { publicSubnet: { ...PUBLIC_A, cidrBlock: '10.8.0.0/24x' } }, "publicSubnet.cidrBlock: '10.8.0.0/24x' is not an IPv4 CIDR block"],
    ['a private subnet CIDR with host bits', { privateSubnets: [PRIVATE_A, { ...PRIVATE_B, cidrBlock: '10.8.2.1/24' }] }, "privateSubnets[1].cidrBlock: '10.8.2.1/24' has host bits set"],
    ['a malformed additional CIDR', { additionalCidrs: ['172.16.0.0/12', '172.16.0.0/40'] }, "additionalCidrs[1]: '172.16.0.0/40' is not an IPv4 CIDR block"],
    ['an SSH CIDR with host bits', { sshCidrs: ['198.51.100.7/24'] }, "sshCidrs[0]: '198.51.100.7/24' has host bits set"],
    // Overlaps
    ['overlapping private subnets', { privateSubnets: [PRIVATE_A, { ...PRIVATE_B, cidrBlock: '10.8.1.128/25' }] }, "'privateSubnets' entries 10.8.1.0/24 and 10.8.1.128/25 overlap"],
    ['a private subnet overlapping the public one', { privateSubnets: [{ ...PRIVATE_A, cidrBlock: '10.8.0.0/16' }] }, "'privateSubnets' entry 10.8.0.0/16 overlaps 'publicSubnet' (10.8.0.0/24)"],
    // Empty lists
    ['no private subnets', { privateSubnets: [] }, "'privateSubnets' must contain at least one element"],
    ['no route tables', { routeTableIds: [] }, "'routeTableIds' must contain at least one element"],
    ['a route table listed twice', { routeTableIds: ['rtb-a', 'rtb-b', 'rtb-a'] }, "'routeTableIds' lists rtb-a more than once"],
    ['a route-table ID that is not one', { routeTableIds: ['rtb-a', 'subnet-0b'] }, "'routeTableIds[1]' must be a route-table ID (rtb-…), got 'subnet-0b'"],
    // Dual mode
    ['dual mode with the forwarding subnet in another zone', { mode: 'dual', forwardingSubnet: PRIVATE_B }, "'forwardingSubnet' is in eu-central-1b but 'publicSubnet' is in eu-central-1a"],
    ['dual mode whose first private subnet is in another zone', { mode: 'dual', privateSubnets: [PRIVATE_B, PRIVATE_A] }, "'forwardingSubnet' is in eu-central-1b but 'publicSubnet' is in eu-central-1a"],
    ['dual mode with a forwarding subnet not among the private subnets', { mode: 'dual', forwardingSubnet: { id: 'subnet-x', cidrBlock: '10.8.9.0/24', availabilityZone: 'eu-central-1a' } }, "'forwardingSubnet' (10.8.9.0/24) must be one of 'privateSubnets'"],
    // Architecture and instance type
    ['an instance type that is not one', { instanceType: 'nano' }, "'instanceType' 'nano' is not an EC2 instance type"],
    ['an unknown architecture', { architecture: 'sparc' as never }, "'architecture' must be 'arm64' or 'x86_64', got 'sparc'"],
    ['an architecture contradicting t3.nano', { instanceType: 't3.nano', architecture: 'arm64' }, "'architecture' is arm64 but 'instanceType' t3.nano is x86_64"],
    ['an architecture contradicting the default t4g.nano', { architecture: 'x86_64' }, "'architecture' is x86_64 but 'instanceType' t4g.nano is arm64"],
    // Numbers
    ['interfaceWaitSeconds 0', { interfaceWaitSeconds: 0 }, "'interfaceWaitSeconds' must be a whole number from 1 to"],
    ['fractional interfaceWaitSeconds', { interfaceWaitSeconds: 2.5 }, "'interfaceWaitSeconds' must be a whole number"],
    ['interfaceWaitSeconds of a day', { interfaceWaitSeconds: 86400 }, "'interfaceWaitSeconds' must be a whole number"],
    ['conntrackMax 0', { conntrackMax: 0 }, "'conntrackMax' must be a whole number"],
    ['conntrackMax of a trillion', { conntrackMax: 1e12 }, "'conntrackMax' must be a whole number"],
    // Owned Elastic IPs
    ['an allocation ID that is an address', { elasticIpAllocationIds: ['203.0.113.7'] }, "'elasticIpAllocationIds[0]' must be an Elastic IP allocation ID (eipalloc-…), got '203.0.113.7'"],
    ['an allocation ID of another kind', { elasticIpAllocationIds: ['eipassoc-0123abcd'] }, "'elasticIpAllocationIds[0]' must be an Elastic IP allocation ID"],
    ['an allocation listed twice', { elasticIpAllocationIds: ['eipalloc-0a', 'eipalloc-0a'] }, "'elasticIpAllocationIds' lists eipalloc-0a more than once"],
    ['owned Elastic IPs with elasticIp false', { elasticIp: false, elasticIpAllocationIds: ['eipalloc-0a'] }, "'elasticIpAllocationIds' needs 'elasticIp' (it is false)"],
    ['more allocations than public addresses', { elasticIpAllocationIds: ['eipalloc-0a', 'eipalloc-0b'], publicIpCount: 1 }, "'elasticIpAllocationIds' holds 2 allocations, but 'publicIpCount' is 1"],
    // Public addresses
    ['publicIpCount 0', { publicIpCount: 0 }, "'publicIpCount' must be a whole number from 1 to 50, got 0"],
    ['a fractional publicIpCount', { publicIpCount: 1.5 }, "'publicIpCount' must be a whole number from 1 to 50"],
    ['more addresses than a t4g.nano interface carries', { publicIpCount: 3 }, "'publicIpCount' is 3, but one network interface of instance type t4g.nano carries at most 2 IPv4 addresses"],
    ['more addresses than an m5.large interface carries', { instanceType: 'm5.large', publicIpCount: 11 }, "'publicIpCount' is 11, but one network interface of instance type m5.large carries at most 10"],
    ['several addresses without Elastic IPs', { publicIpCount: 2, elasticIp: false }, "'publicIpCount' is 2 but 'elasticIp' is false"],
    ['a root volume smaller than the AMI', { rootVolumeSize: 4 }, "'rootVolumeSize' must be a whole number from 8 to"],
    ['a fractional root volume', { rootVolumeSize: 8.5 }, "'rootVolumeSize' must be a whole number"],
    // Strings with a fixed set of values
    ['an unknown mode', { mode: 'triple' as never }, "'mode' must be 'single' or 'dual', got 'triple'"],
    ['an unknown route mode', { routeMode: 'bgp' as never }, "'routeMode' must be 'terraform' or 'self-claim', got 'bgp'"],
  ])('GIVEN %s WHEN synthesized THEN it is rejected', (_case, props, message) => {
    expect(rejection(props as Partial<NatInstanceProps>)).toContain(message);
  });

  it('GIVEN an instance type token without architecture or amiId WHEN synthesized THEN it asks for architecture', () => {
    const message = synthError((stack) => {
      const instanceType = new TerraformVariable(stack, 'instance_type', { type: 'string' }).stringValue;
      return new NatInstance(stack, 'nat', { ...BASE, instanceType });
    });
    expect(message).toContain("'architecture' is required when 'instanceType' is a Terraform token");
  });

  it('GIVEN an invalid prop WHEN rejected THEN nothing of the NAT is left in the stack', () => {
    const stack = new TerraformStack(Testing.app(), 'half');
    expect(() => new NatInstance(stack, 'nat', { ...BASE, routeTableIds: [] })).toThrow();
    const nat = stack.node.tryFindChild('nat');
    expect(nat?.node.children ?? []).toEqual([]);
  });
});

describe('NatInstance props that are Terraform tokens are accepted unchecked', () => {
  const synth = synthesize((stack: TerraformStack) => {
    const variable = (name: string, type: string) => new TerraformVariable(stack, name, { type });
    const privateCidr = variable('private_cidr', 'string').stringValue;
    const privateZone = variable('private_zone', 'string').stringValue;
    return new NatInstance(stack, 'nat', {
      ...BASE,
      mode: 'dual',
      publicSubnet: { id: variable('public_id', 'string').stringValue, cidrBlock: variable('public_cidr', 'string').stringValue },
      privateSubnets: [{ id: variable('private_id', 'string').stringValue, cidrBlock: privateCidr, availabilityZone: privateZone }],
      routeTableIds: variable('route_tables', 'list(string)').listValue,
      instanceType: variable('instance_type', 'string').stringValue,
      architecture: 'x86_64',
      additionalCidrs: variable('extra_cidrs', 'list(string)').listValue,
      interfaceWaitSeconds: variable('wait', 'number').numberValue,
      conntrackMax: variable('conntrack', 'number').numberValue,
      rootVolumeSize: variable('volume', 'number').numberValue,
    });
  });
  const instance = synth.only('aws_instance').block;

  it('THEN the instance takes the variables as Terraform references', () => {
    expect(instance.instance_type).toBe('${var.instance_type}');
    expect(instance.subnet_id).toBe('${var.public_id}');
    expect(instance.root_block_device.volume_size).toBe('${var.volume}');
  });

  it('THEN the given architecture picks the AMI parameter', () => {
    expect(Object.values(synth.dataSources('aws_ssm_parameter')).map((p) => p.name)).toEqual([
      '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    ]);
  });

  it('THEN the forwarding interface goes into the token subnet', () => {
    expect(synth.only('aws_network_interface').block.subnet_id).toBe('${var.private_id}');
  });

  it('THEN the settings carry the tokens as Terraform interpolations', () => {
    expect(userDataOf(synth.json, instance)).toContain('NAT_FORWARDING_SUBNET_CIDR=${var.private_cidr}');
    expect(userDataOf(synth.json, instance)).toContain('NAT_INTERFACE_WAIT_SECONDS=${var.wait}');
    expect(userDataOf(synth.json, instance)).toContain('NAT_CONNTRACK_MAX=${var.conntrack}');
  });
});

describe('NatInstance zone check with unknown zones', () => {
  it('GIVEN dual mode and subnets without zones WHEN synthesized THEN the zone check is left to AWS', () => {
    const { availabilityZone: _public, ...publicWithoutZone } = PUBLIC_A;
    const synth = synthesize((stack) => new NatInstance(stack, 'nat', { ...BASE, mode: 'dual', publicSubnet: publicWithoutZone, forwardingSubnet: PRIVATE_B }));
    expect(synth.only('aws_network_interface').block.subnet_id).toBe('subnet-b');
  });
});
