import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { NatInstance, NatInstanceProps } from '../../modules/nat';
import { SubnetInfo } from '../../modules/shared/subnet';
import { synthError, synthesize } from './support/synth';
import { userDataOf } from '../support/user-data-of';

const PUBLIC_A: SubnetInfo = { id: 'subnet-0a1b2c3d', cidrBlock: '10.8.0.0/24', availabilityZone: 'eu-central-1a' };
const PRIVATE_A: SubnetInfo = { id: 'subnet-a', cidrBlock: '10.8.1.0/24', availabilityZone: 'eu-central-1a' };
const PRIVATE_B: SubnetInfo = { id: 'subnet-b', cidrBlock: '10.8.2.0/24', availabilityZone: 'eu-central-1b' };
const BASE: NatInstanceProps = {
  vpcId: 'vpc-0e8a3c1d',
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
    [
      'a malformed public subnet CIDR',
      { publicSubnet: { ...PUBLIC_A, cidrBlock: '10.8.0.0/24x' } },
      "publicSubnet.cidrBlock: '10.8.0.0/24x' is not an IPv4 CIDR block",
    ],
    [
      'a private subnet CIDR with host bits',
      { privateSubnets: [PRIVATE_A, { ...PRIVATE_B, cidrBlock: '10.8.2.1/24' }] },
      "privateSubnets[1].cidrBlock: '10.8.2.1/24' has host bits set",
    ],
    [
      'a malformed additional CIDR',
      { additionalCidrs: ['172.16.0.0/12', '172.16.0.0/40'] },
      "additionalCidrs[1]: '172.16.0.0/40' is not an IPv4 CIDR block",
    ],
    ['an SSH CIDR with host bits', { sshCidrs: ['198.51.100.7/24'] }, "sshCidrs[0]: '198.51.100.7/24' has host bits set"],
    // Overlaps
    [
      'overlapping private subnets',
      { privateSubnets: [PRIVATE_A, { ...PRIVATE_B, cidrBlock: '10.8.1.128/25' }] },
      "'privateSubnets' entries 10.8.1.0/24 and 10.8.1.128/25 overlap",
    ],
    [
      'a private subnet overlapping the public one',
      { privateSubnets: [{ ...PRIVATE_A, cidrBlock: '10.8.0.0/16' }] },
      "'privateSubnets' entry 10.8.0.0/16 overlaps 'publicSubnet' (10.8.0.0/24)",
    ],
    // Empty lists
    ['no private subnets', { privateSubnets: [] }, "'privateSubnets' must contain at least one element"],
    ['no route tables', { routeTableIds: [] }, "'routeTableIds' must contain at least one element"],
    ['a route table listed twice', { routeTableIds: ['rtb-a', 'rtb-b', 'rtb-a'] }, "'routeTableIds' lists rtb-a more than once"],
    [
      'a route-table ID that is not one',
      { routeTableIds: ['rtb-a', 'subnet-0b'] },
      "'routeTableIds[1]' must be a route-table ID (rtb- and hex digits, like rtb-0123abcd), got 'subnet-0b'",
    ],
    // Dual mode
    [
      'dual mode with the forwarding subnet in another zone',
      { mode: 'dual', forwardingSubnet: PRIVATE_B },
      "'forwardingSubnet' is in eu-central-1b but 'publicSubnet' is in eu-central-1a",
    ],
    [
      'dual mode whose first private subnet is in another zone',
      { mode: 'dual', privateSubnets: [PRIVATE_B, PRIVATE_A] },
      "'forwardingSubnet' is in eu-central-1b but 'publicSubnet' is in eu-central-1a",
    ],
    [
      'dual mode with a forwarding subnet not among the private subnets',
      { mode: 'dual', forwardingSubnet: { id: 'subnet-0c9', cidrBlock: '10.8.9.0/24', availabilityZone: 'eu-central-1a' } },
      "'forwardingSubnet' (10.8.9.0/24) must be one of 'privateSubnets'",
    ],
    // Architecture and instance type
    [
      'an instance type that is not one',
      { instanceType: 'nano' },
      "'instanceType' must be an EC2 instance type: a family, a dot and a size",
    ],
    ['an unknown architecture', { architecture: 'sparc' as never }, "'architecture' must be 'arm64' or 'x86_64', got 'sparc'"],
    [
      'an architecture contradicting t3.nano',
      { instanceType: 't3.nano', architecture: 'arm64' },
      "'architecture' is arm64 but 'instanceType' t3.nano is x86_64",
    ],
    [
      'an architecture contradicting the default t4g.nano',
      { architecture: 'x86_64' },
      "'architecture' is x86_64 but 'instanceType' t4g.nano is arm64",
    ],
    // Numbers
    ['negative interfaceWaitSeconds', { interfaceWaitSeconds: -1 }, "'interfaceWaitSeconds' must be a whole number from 0 to 3600, got -1"],
    ['fractional interfaceWaitSeconds', { interfaceWaitSeconds: 2.5 }, "'interfaceWaitSeconds' must be a whole number"],
    ['interfaceWaitSeconds of a day', { interfaceWaitSeconds: 86400 }, "'interfaceWaitSeconds' must be a whole number"],
    ['conntrackMax 0', { conntrackMax: 0 }, "'conntrackMax' must be a whole number"],
    ['conntrackMax of a trillion', { conntrackMax: 1e12 }, "'conntrackMax' must be a whole number"],
    // Owned Elastic IPs
    [
      'an allocation ID that is an address',
      { elasticIpAllocationIds: ['203.0.113.7'] },
      "'elasticIpAllocationIds[0]' must be an Elastic IP allocation ID (eipalloc- and hex digits, like eipalloc-0123abcd), got '203.0.113.7'",
    ],
    [
      'an allocation ID of another kind',
      { elasticIpAllocationIds: ['eipassoc-0123abcd'] },
      "'elasticIpAllocationIds[0]' must be an Elastic IP allocation ID",
    ],
    [
      'an allocation listed twice',
      { elasticIpAllocationIds: ['eipalloc-0a', 'eipalloc-0a'] },
      "'elasticIpAllocationIds' lists eipalloc-0a more than once",
    ],
    [
      'owned Elastic IPs with elasticIp false',
      { elasticIp: false, elasticIpAllocationIds: ['eipalloc-0a'] },
      "'elasticIpAllocationIds' needs 'elasticIp' (it is false)",
    ],
    [
      'more allocations than public addresses',
      { elasticIpAllocationIds: ['eipalloc-0a', 'eipalloc-0b'], publicIpCount: 1 },
      "'elasticIpAllocationIds' holds 2 allocations, but 'publicIpCount' is 1",
    ],
    // Public addresses
    ['publicIpCount 0', { publicIpCount: 0 }, "'publicIpCount' must be a whole number from 1 to 50, got 0"],
    ['a fractional publicIpCount', { publicIpCount: 1.5 }, "'publicIpCount' must be a whole number from 1 to 50"],
    [
      'more addresses than a t4g.nano interface carries',
      { publicIpCount: 3 },
      "'publicIpCount' is 3, but one network interface of instance type t4g.nano carries at most 2 IPv4 addresses",
    ],
    [
      'more addresses than an m5.large interface carries',
      { instanceType: 'm5.large', publicIpCount: 11 },
      "'publicIpCount' is 11, but one network interface of instance type m5.large carries at most 10",
    ],
    ['several addresses without Elastic IPs', { publicIpCount: 2, elasticIp: false }, "'publicIpCount' is 2 but 'elasticIp' is false"],
    ['a root volume smaller than the AMI', { rootVolumeSize: 4 }, "'rootVolumeSize' must be a whole number from 8 to"],
    ['a fractional root volume', { rootVolumeSize: 8.5 }, "'rootVolumeSize' must be a whole number"],
    // Empty strings and IDs of the wrong shape
    ['an empty vpcId', { vpcId: '' }, "'vpcId' must be a VPC ID (vpc- and hex digits, like vpc-0123abcd), got ''"],
    ['a vpcId that is not hex', { vpcId: 'vpc-zz' }, "'vpcId' must be a VPC ID (vpc- and hex digits, like vpc-0123abcd), got 'vpc-zz'"],
    [
      'a public subnet without an ID',
      { publicSubnet: { ...PUBLIC_A, id: '' } },
      "'publicSubnet.id' must be a subnet ID (subnet- and hex digits, like subnet-0123abcd), got ''",
    ],
    [
      'a private subnet without an ID',
      { privateSubnets: [PRIVATE_A, { ...PRIVATE_B, id: '' }] },
      "'privateSubnets[1].id' must be a subnet ID",
    ],
    [
      'a private subnet ID listed twice',
      { privateSubnets: [PRIVATE_A, { ...PRIVATE_B, id: PRIVATE_A.id }] },
      "'privateSubnets' lists subnet-a more than once",
    ],
    [
      'a forwarding subnet ID that is a name',
      { mode: 'dual', forwardingSubnet: { ...PRIVATE_A, id: 'private-a' } },
      "'forwardingSubnet.id' must be a subnet ID",
    ],
    [
      'an AMI ID that is not hex',
      { amiId: 'ami-zzz' },
      "'amiId' must be an AMI ID (ami- and hex digits, like ami-0123abcd), got 'ami-zzz'",
    ],
    ['an empty AMI ID', { amiId: '' }, "'amiId' must be an AMI ID"],
    [
      'a security-group name where an ID belongs',
      { additionalSecurityGroupIds: ['sg-0abc', 'web-servers'] },
      "'additionalSecurityGroupIds[1]' must be a security-group ID, not its name (sg- and hex digits, like sg-0123abcd), got 'web-servers'",
    ],
    [
      'a security group listed twice',
      { additionalSecurityGroupIds: ['sg-0abc', 'sg-0abc'] },
      "'additionalSecurityGroupIds' lists sg-0abc more than once",
    ],
    [
      'an empty instanceProfileName',
      { instanceProfileName: '' },
      "'instanceProfileName' must be an instance-profile name: 1 to 128 letters, digits or _+=,.@- (a name, not an ARN), got ''",
    ],
    [
      'an instance-profile ARN where its name belongs',
      { instanceProfileName: 'arn:aws:iam::123456789012:instance-profile/nat' },
      "'instanceProfileName' must be an instance-profile name",
    ],
    ['an empty keyName', { keyName: '' }, "'keyName' must be a key-pair name: 1 to 255 printable ASCII characters, got ''"],
    // Names AWS refuses for the role (64 characters), the policy and the security group
    [
      'an empty name',
      { name: '' },
      "'name' must be 1 to 64 ASCII letters, digits or _+=,.@- (it names IAM roles and policies and a security group), got ''",
    ],
    ['a name with a space', { name: 'my nat' }, "'name' must be 1 to 64 ASCII letters"],
    ['a name with non-ASCII letters', { name: 'nät' }, "'name' must be 1 to 64 ASCII letters"],
    ['a name longer than an IAM role name may be', { name: 'n'.repeat(65) }, "'name' must be 1 to 64 ASCII letters"],
    [
      'a name that makes a security-group name start with sg-',
      { name: 'sg-nat' },
      "'name' must not start with sg- (security-group names may not), got 'sg-nat'",
    ],
    // Instance types whose size is not an EC2 size
    [
      'an instance type with a typo in its size',
      { instanceType: 't4g.nanno' },
      "'instanceType' must be an EC2 instance type: a family, a dot and a size (nano, micro, small, medium, large, xlarge, 2xlarge…, metal), like t4g.nano, got 't4g.nanno'",
    ],
    ['an instance type without a size', { instanceType: 't4g' }, "'instanceType' must be an EC2 instance type"],
    ['an instance type in capitals', { instanceType: 'T4G.NANO' }, "'instanceType' must be an EC2 instance type"],
    // Tags
    [
      '50 tags (51 with Name)',
      { tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])) },
      "'tags' has 50 keys; with 'Name' that we add that is 51, over AWS's limit of 50 per resource",
    ],
    [
      'a tag key starting with aws:',
      { tags: { Team: 'net', 'aws:owner': 'me' } },
      "'tags' key 'aws:owner' must not start with aws: (reserved by AWS), got 'aws:owner'",
    ],
    ['a tag key starting with AWS:', { tags: { 'AWS:owner': 'me' } }, "'tags' key 'AWS:owner' must not start with aws:"],
    // Availability zones
    [
      'subnets in two regions',
      { privateSubnets: [PRIVATE_A, { ...PRIVATE_B, availabilityZone: 'us-east-1b' }] },
      "'privateSubnets[1].availabilityZone' (us-east-1b) is in region us-east-1 but 'publicSubnet.availabilityZone' is in eu-central-1: all zones must be in one region",
    ],
    [
      'a zone ID where a zone name belongs',
      { publicSubnet: { ...PUBLIC_A, availabilityZone: 'euc1-az2' } },
      "'publicSubnet.availabilityZone' must be an availability-zone name like eu-central-1a, got 'euc1-az2'",
    ],
    [
      'an empty zone',
      { privateSubnets: [{ ...PRIVATE_A, availabilityZone: '' }, PRIVATE_B] },
      "'privateSubnets[0].availabilityZone' must be an availability-zone name",
    ],
    // The internet, whole or in parts, without the opt-in
    [
      '0.0.0.0/0 in additionalCidrs',
      { additionalCidrs: ['0.0.0.0/0'] },
      "'additionalCidrs' (0.0.0.0/0) covers 4294967296 addresses, the whole internet: that would open every port of the NAT (and its forwarding) to the internet; set 'allowAnyClientSource: true' if you mean it",
    ],
    [
      'the internet in two halves in additionalCidrs',
      { additionalCidrs: ['0.0.0.0/1', '128.0.0.0/1'] },
      "'additionalCidrs' (0.0.0.0/1, 128.0.0.0/1) covers 4294967296 addresses, the whole internet",
    ],
    [
      'half the internet in additionalCidrs',
      { additionalCidrs: ['128.0.0.0/1'] },
      "'additionalCidrs' (128.0.0.0/1) covers 2147483648 addresses, 50% of all IPv4 addresses",
    ],
    ['a /7 in additionalCidrs', { additionalCidrs: ['2.0.0.0/7'] }, "'additionalCidrs' (2.0.0.0/7) covers 33554432 addresses"],
    [
      '0.0.0.0/0 in sshCidrs',
      { sshCidrs: ['0.0.0.0/0'] },
      "'sshCidrs' (0.0.0.0/0) covers 4294967296 addresses, the whole internet: that would open SSH on the NAT to the internet; set 'allowAnySshSource: true' if you mean it",
    ],
    [
      'the internet in four quarters in sshCidrs',
      { sshCidrs: ['0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/2', '192.0.0.0/2'] },
      "'sshCidrs' (0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/2, 192.0.0.0/2) covers 4294967296 addresses",
    ],
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

describe('NatInstance props that pass at synth', () => {
  it.each([
    [
      'every private-use range together (under 2^25 addresses)',
      { additionalCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] },
    ],
    ['the same block twice (counted once)', { additionalCidrs: ['10.0.0.0/8', '10.0.0.0/8', '10.1.0.0/16'] }],
    [
      'the internet in additionalCidrs with allowAnyClientSource',
      { additionalCidrs: ['0.0.0.0/1', '128.0.0.0/1'], allowAnyClientSource: true },
    ],
    ['the internet in sshCidrs with allowAnySshSource', { sshCidrs: ['0.0.0.0/0'], allowAnySshSource: true }],
    ['49 tags (50 with Name)', { tags: Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v'])) }],
    ['50 tags of which one is Name', { tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [i === 0 ? 'Name' : `k${i}`, 'v'])) }],
    ['a name of 64 characters', { name: 'n'.repeat(64) }],
    ['a name with every character IAM allows', { name: 'Nat_1+=,.@-x' }],
    ['interfaceWaitSeconds 0 (look once)', { interfaceWaitSeconds: 0 }],
    ['large and metal instance types', { instanceType: 'c7gn.16xlarge' }],
    ['a high-memory instance type', { instanceType: 'u7in-32tb.224xlarge', architecture: 'x86_64' }],
    ['a metal size with a number', { instanceType: 'm7i.metal-48xl' }],
    ['a Local Zone in the same region', { privateSubnets: [PRIVATE_A, { ...PRIVATE_B, availabilityZone: 'eu-central-1-ham-1a' }] }],
  ])('GIVEN %s WHEN synthesized THEN it is accepted', (_case, props) => {
    expect(() => synthesize((stack) => new NatInstance(stack, 'nat', { ...BASE, ...(props as Partial<NatInstanceProps>) }))).not.toThrow();
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
    const synth = synthesize(
      (stack) => new NatInstance(stack, 'nat', { ...BASE, mode: 'dual', publicSubnet: publicWithoutZone, forwardingSubnet: PRIVATE_B }),
    );
    expect(synth.only('aws_network_interface').block.subnet_id).toBe('subnet-b');
  });
});
