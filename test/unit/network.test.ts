import { TerraformStack, TerraformVariable } from 'cdktf';
import { Network, NetworkProps } from '../../modules/vpc';
import { SSM_ENDPOINT_SERVICES } from '../../modules/vpc/ssm-endpoints';
import { Synthesized, synthError, synthesize, TfBlock } from './support/synth';

const AZS = ['eu-central-1a', 'eu-central-1b'];
const BASE: NetworkProps = {
  name: 'net',
  cidr: '10.0.0.0/16',
  azs: AZS,
  publicSubnets: ['10.0.0.0/24', '10.0.10.0/24'],
  privateSubnets: ['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24'],
};

function synthNetwork(props: Partial<NetworkProps> = {}): Synthesized<Network> {
  return synthesize(
    (stack) => new Network(stack, 'network', { ...BASE, ...props }),
    (network) => ({
      publicRouteTableIds: network.publicRouteTableIds,
      privateRouteTableIds: network.privateRouteTableIds,
      privateSubnetRouteTableIds: network.privateSubnetRouteTableIds,
      privateSubnetIds: network.privateSubnetIds,
      ssmEndpointSecurityGroupId: network.ssmEndpointSecurityGroupId ?? 'none',
    }),
  );
}

/** The logical name of the subnet with this CIDR block. */
function subnetNamed(synth: Synthesized<Network>, cidr: string): string {
  const match = Object.entries(synth.resources('aws_subnet')).filter(([, block]) => block.cidr_block === cidr);
  expect(match).toHaveLength(1);
  return match[0][0];
}

/** The route-table reference each association gives the subnet with this CIDR block. */
function routeTablesOf(synth: Synthesized<Network>, cidr: string): string[] {
  const subnetId = synth.ref('aws_subnet', subnetNamed(synth, cidr), 'id');
  return Object.values(synth.resources('aws_route_table_association'))
    .filter((association) => association.subnet_id === subnetId)
    .map((association) => association.route_table_id);
}

function routesOf(synth: Synthesized<Network>, routeTableRef: string): TfBlock[] {
  return Object.values(synth.resources('aws_route')).filter((route) => route.route_table_id === routeTableRef);
}

describe('Network with defaults (single private route table, no endpoints, no IPv6)', () => {
  const synth = synthNetwork();
  const { name: vpcName, block: vpc } = synth.only('aws_vpc');
  const vpcId = synth.ref('aws_vpc', vpcName, 'id');
  const { name: igwName, block: igw } = synth.only('aws_internet_gateway');
  const igwId = synth.ref('aws_internet_gateway', igwName, 'id');

  it('THEN the VPC has the CIDR, DNS support and DNS hostnames, and no IPv6 block', () => {
    expect(vpc).toMatchObject({ cidr_block: '10.0.0.0/16', enable_dns_support: true, enable_dns_hostnames: true });
    expect(vpc.assign_generated_ipv6_cidr_block).toBeUndefined();
    expect(vpc.tags).toEqual({ Name: 'net-vpc' });
  });

  it('THEN an internet gateway is attached to the VPC', () => {
    expect(igw.vpc_id).toBe(vpcId);
  });

  it('THEN public subnets map public IPs on launch, spread over the zones in order', () => {
    const publics = BASE.publicSubnets.map((cidr) => synth.resources('aws_subnet')[subnetNamed(synth, cidr)]);
    expect(publics.map((subnet) => subnet.map_public_ip_on_launch)).toEqual([true, true]);
    expect(publics.map((subnet) => subnet.availability_zone)).toEqual(AZS);
    expect(publics.every((subnet) => subnet.vpc_id === vpcId)).toBe(true);
  });

  it('THEN every public subnet is associated with the one public route table whose 0.0.0.0/0 targets the IGW', () => {
    const tables = BASE.publicSubnets.map((cidr) => routeTablesOf(synth, cidr));
    expect(tables[0]).toHaveLength(1);
    expect(tables[1]).toEqual(tables[0]);
    expect(synth.exposed.publicRouteTableIds).toEqual(tables[0]);
    const routes = routesOf(synth, tables[0][0]);
    expect(routes).toEqual([{ route_table_id: tables[0][0], destination_cidr_block: '0.0.0.0/0', gateway_id: igwId }]);
  });

  it('THEN private subnets get no public IPs and share one route table with no default route of its own', () => {
    const privates = BASE.privateSubnets.map((cidr) => synth.resources('aws_subnet')[subnetNamed(synth, cidr)]);
    expect(privates.map((subnet) => subnet.map_public_ip_on_launch)).toEqual([false, false, false]);
    expect(privates.map((subnet) => subnet.availability_zone)).toEqual([AZS[0], AZS[1], AZS[0]]);
    const tables = BASE.privateSubnets.map((cidr) => routeTablesOf(synth, cidr));
    expect(tables.every((list) => list.length === 1 && list[0] === tables[0][0])).toBe(true);
    expect(synth.exposed.privateRouteTableIds).toEqual([tables[0][0]]);
    // The NAT adds 0.0.0.0/0 to private tables; the Network alone must not route them to the IGW.
    expect(routesOf(synth, tables[0][0])).toEqual([]);
  });

  it('THEN there are two route tables in all (public + one private) and one association per subnet', () => {
    expect(Object.keys(synth.resources('aws_route_table'))).toHaveLength(2);
    expect(Object.keys(synth.resources('aws_route_table_association'))).toHaveLength(5);
  });

  it('THEN no SSM endpoints, no egress-only gateway and no IPv6 routes exist', () => {
    expect(synth.resources('aws_vpc_endpoint')).toEqual({});
    expect(synth.resources('aws_egress_only_internet_gateway')).toEqual({});
    expect(Object.values(synth.resources('aws_route')).some((route) => route.destination_ipv6_cidr_block)).toBe(false);
    expect(synth.exposed.ssmEndpointSecurityGroupId).toBe('none');
  });

  it('THEN the subnet attributes users wire next carry the literal CIDRs and zones', () => {
    expect(synth.built.privateSubnets.map((subnet) => [subnet.cidrBlock, subnet.availabilityZone])).toEqual([
      ['10.0.1.0/24', AZS[0]],
      ['10.0.2.0/24', AZS[1]],
      ['10.0.3.0/24', AZS[0]],
    ]);
    expect(synth.exposed.privateSubnetIds).toEqual(
      BASE.privateSubnets.map((cidr) => synth.ref('aws_subnet', subnetNamed(synth, cidr), 'id')),
    );
  });
});

describe('Network private route-table layouts', () => {
  it.each([
    ['single', 1, [0, 0, 0]],
    ['per-az', 2, [0, 1, 0]],
    ['per-subnet', 3, [0, 1, 2]],
  ] as const)(
    'GIVEN %s over 2 zones and 3 private subnets THEN %d private tables and subnet i uses table %p',
    (layout, count, tableIndexOfSubnet) => {
      const synth = synthNetwork({ privateRouteTables: layout });
      const privateTables = synth.exposed.privateRouteTableIds;
      expect(privateTables).toHaveLength(count);
      expect(new Set(privateTables).size).toBe(count);
      expect(Object.keys(synth.resources('aws_route_table'))).toHaveLength(count + 1);
      BASE.privateSubnets.forEach((cidr, i) => {
        expect(routeTablesOf(synth, cidr)).toEqual([privateTables[tableIndexOfSubnet[i]]]);
      });
      expect(synth.exposed.privateSubnetRouteTableIds).toEqual(tableIndexOfSubnet.map((t) => privateTables[t]));
      const publicTable = synth.exposed.publicRouteTableIds[0];
      expect(privateTables).not.toContain(publicTable);
    },
  );
});

describe('Network with SSM endpoints', () => {
  const synth = synthNetwork({ enableSsmEndpoints: true, tags: { Team: 'net' } });
  const endpoints = Object.values(synth.resources('aws_vpc_endpoint'));
  const { name: sgName, block: sg } = synth.only('aws_security_group');

  it('THEN there are exactly three interface endpoints: ssm, ssmmessages, ec2messages, with private DNS', () => {
    expect(SSM_ENDPOINT_SERVICES).toEqual(['ssm', 'ssmmessages', 'ec2messages']);
    expect(endpoints).toHaveLength(3);
    const services = endpoints.map((endpoint) => String(endpoint.service_name).split('.').pop()).sort();
    expect(services).toEqual(['ec2messages', 'ssm', 'ssmmessages']);
    for (const endpoint of endpoints) {
      expect(endpoint.vpc_endpoint_type).toBe('Interface');
      expect(endpoint.private_dns_enabled).toBe(true);
      expect(endpoint.service_name).toMatch(/^com\.amazonaws\.\$\{data\.aws_region\.[\w-]+\.id\}\.\w+$/);
      expect(endpoint.security_group_ids).toEqual([synth.ref('aws_security_group', sgName, 'id')]);
    }
  });

  it('THEN each endpoint is in private subnets only, at most one per zone', () => {
    const subnets = synth.resources('aws_subnet');
    const byRef = new Map(Object.entries(subnets).map(([name, block]) => [synth.ref('aws_subnet', name, 'id'), block]));
    for (const endpoint of endpoints) {
      const chosen = (endpoint.subnet_ids as string[]).map((ref) => byRef.get(ref)!);
      expect(chosen.every((subnet) => subnet && subnet.map_public_ip_on_launch === false)).toBe(true);
      const zones = chosen.map((subnet) => subnet.availability_zone);
      expect(new Set(zones).size).toBe(zones.length);
      expect(zones.sort()).toEqual(AZS);
    }
  });

  it('THEN the endpoint security group admits only 443/tcp from the VPC CIDR', () => {
    expect(sg.ingress).toHaveLength(1);
    expect(sg.ingress[0]).toMatchObject({ protocol: 'tcp', from_port: 443, to_port: 443, cidr_blocks: ['10.0.0.0/16'] });
    expect(sg.ingress[0].ipv6_cidr_blocks ?? []).toEqual([]);
    expect(sg.ingress[0].security_groups ?? []).toEqual([]);
    expect(sg.tags).toMatchObject({ Team: 'net' });
    expect(synth.exposed.ssmEndpointSecurityGroupId).toBe(synth.ref('aws_security_group', sgName, 'id'));
  });
});

describe('Network with IPv6', () => {
  const synth = synthNetwork({ enableIpv6: true, privateRouteTables: 'per-az' });
  const { name: eigwName, block: eigw } = synth.only('aws_egress_only_internet_gateway');
  const eigwId = synth.ref('aws_egress_only_internet_gateway', eigwName, 'id');
  const igwId = synth.ref('aws_internet_gateway', synth.only('aws_internet_gateway').name, 'id');

  it('THEN the VPC requests an Amazon-provided IPv6 block and an egress-only gateway is attached', () => {
    expect(synth.only('aws_vpc').block.assign_generated_ipv6_cidr_block).toBe(true);
    expect(eigw.vpc_id).toBe(synth.ref('aws_vpc', synth.only('aws_vpc').name, 'id'));
  });

  it('THEN every private route table sends ::/0 to the egress-only gateway', () => {
    for (const table of synth.exposed.privateRouteTableIds) {
      expect(routesOf(synth, table)).toEqual([
        { route_table_id: table, destination_ipv6_cidr_block: '::/0', egress_only_gateway_id: eigwId },
      ]);
    }
  });

  it('THEN the public route table sends ::/0 to the internet gateway', () => {
    const table = synth.exposed.publicRouteTableIds[0];
    const ipv6 = routesOf(synth, table).filter((route) => route.destination_ipv6_cidr_block);
    expect(ipv6).toEqual([{ route_table_id: table, destination_ipv6_cidr_block: '::/0', gateway_id: igwId }]);
  });

  it('THEN every subnet gets its own /64 and assigns IPv6 addresses on creation', () => {
    const subnets = Object.values(synth.resources('aws_subnet'));
    expect(subnets).toHaveLength(5);
    expect(subnets.every((subnet) => subnet.assign_ipv6_address_on_creation === true)).toBe(true);
    const blocks = subnets.map((subnet) => subnet.ipv6_cidr_block as string);
    blocks.forEach((block) => expect(block).toMatch(/^\$\{cidrsubnet\(aws_vpc\.[\w-]+\.ipv6_cidr_block, 8, \d+\)\}$/));
    expect(new Set(blocks).size).toBe(5);
  });
});

describe('Network zones looked up at plan time', () => {
  const synth = synthNetwork({ azs: undefined, azCount: 2 });

  it('THEN the available zones come from a data source and subnets take its elements in order', () => {
    const zones = synth.dataSources('aws_availability_zones');
    const [zonesName] = Object.keys(zones);
    expect(Object.values(zones)).toEqual([{ state: 'available' }]);
    const privates = BASE.privateSubnets.map((cidr) => synth.resources('aws_subnet')[subnetNamed(synth, cidr)].availability_zone);
    expect(privates).toEqual([0, 1, 0].map((i) => `\${element(data.aws_availability_zones.${zonesName}.names, ${i})}`));
  });
});

describe('Network validation', () => {
  const reject = (props: Partial<NetworkProps>) => synthError((stack) => new Network(stack, 'network', { ...BASE, ...props }));

  it.each([
    ['a malformed VPC CIDR', { cidr: '10.0.0/16' }, "cidr: '10.0.0/16' is not an IPv4 CIDR block"],
    ['a VPC CIDR with host bits', { cidr: '10.0.0.1/16' }, "cidr: '10.0.0.1/16' has host bits set"],
    ['a malformed public subnet', { publicSubnets: ['10.0.0.0/24', 'nope'] }, "publicSubnets[1]: 'nope' is not an IPv4 CIDR block"],
    ['a private subnet with host bits', { privateSubnets: ['10.0.1.5/24'] }, "privateSubnets[0]: '10.0.1.5/24' has host bits set"],
    [
      'a public subnet outside the VPC',
      { publicSubnets: ['10.1.0.0/24'] },
      "'publicSubnets[0]' (10.1.0.0/24) is outside the VPC range 'cidr'",
    ],
    [
      'a private subnet wider than the VPC',
      { privateSubnets: ['10.0.0.0/8'] },
      "'privateSubnets[0]' (10.0.0.0/8) is outside the VPC range",
    ],
    [
      'overlapping private subnets',
      { privateSubnets: ['10.0.1.0/24', '10.0.1.128/25'] },
      "'privateSubnets[1]' (10.0.1.128/25) overlaps another subnet (10.0.1.0/24)",
    ],
    [
      'a private subnet overlapping a public one',
      { privateSubnets: ['10.0.0.0/23'] },
      "'privateSubnets[0]' (10.0.0.0/23) overlaps another subnet (10.0.0.0/24)",
    ],
    ['a VPC larger than AWS allows', { cidr: '10.0.0.0/8' }, "'cidr' (10.0.0.0/8) must be a /16 to /28 block"],
    [
      'a VPC smaller than AWS allows',
      { cidr: '10.0.0.0/29', publicSubnets: ['10.0.0.0/29'], privateSubnets: ['10.0.0.0/30'] },
      "'cidr' (10.0.0.0/29) must be a /16 to /28 block",
    ],
    [
      'a subnet smaller than AWS allows',
      { privateSubnets: ['10.0.1.0/24', '10.0.2.0/29'] },
      "'privateSubnets[1]' (10.0.2.0/29) must be a /16 to /28 block",
    ],
    ['no public subnets', { publicSubnets: [] }, "'publicSubnets' must contain at least one element"],
    ['no private subnets', { privateSubnets: [] }, "'privateSubnets' must contain at least one element"],
    ['an empty zone list', { azs: [] }, "'azs' must contain at least one element"],
    ['a zero zone count', { azs: undefined, azCount: 0 }, "'azCount' must be a whole number of at least 1"],
    ['a fractional zone count', { azs: undefined, azCount: 1.5 }, "'azCount' must be a whole number of at least 1"],
    [
      'zones of two regions',
      { azs: ['eu-central-1a', 'eu-west-1b'] },
      "'azs[1]' (eu-west-1b) is in region eu-west-1 but 'azs[0]' is in eu-central-1: all zones must be in one region",
    ],
    [
      'a region where a zone belongs',
      { azs: ['eu-central-1'] },
      "'azs[0]' must be an availability-zone name like eu-central-1a, got 'eu-central-1'",
    ],
    ['an empty zone', { azs: ['eu-central-1a', ''] }, "'azs[1]' must be an availability-zone name like eu-central-1a, got ''"],
    ['a tag key starting with aws:', { tags: { 'aws:owner': 'me' } }, "'tags' key 'aws:owner' must not start with aws:"],
    ['50 tags (51 with Name)', { tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])) }, "'tags' has 50 keys"],
    [
      'an unknown route-table layout',
      { privateRouteTables: 'per-region' as never },
      "'privateRouteTables' must be 'single', 'per-az' or 'per-subnet', got 'per-region'",
    ],
  ])('GIVEN %s WHEN synthesized THEN it is rejected naming the prop', (_case, props, message) => {
    expect(reject(props)).toContain(message);
  });

  it('GIVEN Terraform variables for the VPC and subnet CIDRs WHEN synthesized THEN they pass unchecked into the resources', () => {
    const synth = synthesize((stack: TerraformStack) => {
      const cidr = new TerraformVariable(stack, 'vpc_cidr', { type: 'string' }).stringValue;
      const subnet = new TerraformVariable(stack, 'private_cidr', { type: 'string' }).stringValue;
      return new Network(stack, 'network', { ...BASE, cidr, privateSubnets: [subnet] });
    });
    expect(synth.only('aws_vpc').block.cidr_block).toBe('${var.vpc_cidr}');
    expect(Object.values(synth.resources('aws_subnet')).map((subnet) => subnet.cidr_block)).toContain('${var.private_cidr}');
  });
});
