import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { EgressOnlyInternetGateway } from '@cdktf/provider-aws/lib/egress-only-internet-gateway';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { Route } from '@cdktf/provider-aws/lib/route';
import { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones';
import { SubnetInfo } from '../shared/subnet';
import { validateNetworkProps } from './network-validation';
import { SsmEndpoints } from './ssm-endpoints';

/** How private subnets share route tables. */
export type PrivateRouteTableLayout = 'single' | 'per-az' | 'per-subnet';

export interface NetworkProps {
  /**
   * Name prefix for the `Name` tag of every resource.
   * @default 'nat-instance'
   */
  readonly name?: string;
  /** The VPC's IPv4 CIDR block, for example `10.8.0.0/16`. */
  readonly cidr: string;
  /**
   * Availability zones; subnets are spread over them in order (subnet i in `azs[i % azs.length]`).
   * @default the first `azCount` zones of the provider's region, looked up at plan time
   */
  readonly azs?: string[];
  /**
   * How many zones to use when `azs` is not given.
   * @default 2
   */
  readonly azCount?: number;
  /** CIDR blocks of the public subnets (public IPs on launch, default route to the internet gateway). */
  readonly publicSubnets: string[];
  /** CIDR blocks of the private subnets (no public IPs). */
  readonly privateSubnets: string[];
  /**
   * `single`: one route table for all private subnets; `per-az`: one per zone in use;
   * `per-subnet`: one per subnet.
   * @default 'single'
   */
  readonly privateRouteTables?: PrivateRouteTableLayout;
  /**
   * Interface endpoints for SSM (`ssm`, `ssmmessages`, `ec2messages`) in the private subnets,
   * so instances stay manageable when the NAT is down.
   * @default false
   */
  readonly enableSsmEndpoints?: boolean;
  /**
   * An Amazon-provided IPv6 block, IPv6 subnets, and `::/0` through an egress-only internet
   * gateway for private subnets (no NAT needed for IPv6).
   * @default false
   */
  readonly enableIpv6?: boolean;
  /**
   * Tags for every resource.
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * A VPC laid out for a NAT instance: internet gateway, public subnets routed to it, private
 * subnets with their own route tables (to which a `NatInstance` adds `0.0.0.0/0`).
 */
export class Network extends Construct {
  public readonly vpc: Vpc;
  public readonly vpcId: string;
  public readonly vpcCidrBlock: string;
  public readonly internetGateway: InternetGateway;
  public readonly publicSubnets: SubnetInfo[];
  public readonly privateSubnets: SubnetInfo[];
  public readonly publicSubnetIds: string[];
  public readonly privateSubnetIds: string[];
  public readonly publicRouteTableIds: string[];
  /** Route tables of the private subnets, in order of first use. */
  public readonly privateRouteTableIds: string[];
  /** The route table of each private subnet, by subnet index. */
  public readonly privateSubnetRouteTableIds: string[];
  /** Security group of the SSM endpoints, when enabled. */
  public readonly ssmEndpointSecurityGroupId?: string;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    validateNetworkProps(props);
    const name = props.name ?? 'nat-instance';
    const tags = props.tags ?? {};
    const named = (suffix: string) => ({ ...tags, Name: `${name}-${suffix}` });
    const azs = props.azs ?? this.lookUpZones(props.azCount ?? 2);
    const azOf = (index: number) => azs[index % azs.length];
    const ipv6 = props.enableIpv6 ?? false;

    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: props.cidr,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      assignGeneratedIpv6CidrBlock: ipv6 || undefined,
      tags: named('vpc'),
    });
    this.vpcId = this.vpc.id;
    this.vpcCidrBlock = props.cidr;
    this.internetGateway = new InternetGateway(this, 'igw', { vpcId: this.vpc.id, tags: named('igw') });

    // IPv6 blocks: public subnets take /64 number i, private ones follow them.
    const ipv6Block = (netnum: number) =>
      ipv6 ? { ipv6CidrBlock: Fn.cidrsubnet(this.vpc.ipv6CidrBlock, 8, netnum), assignIpv6AddressOnCreation: true } : {};

    const publicTable = new RouteTable(this, 'public-rt', { vpcId: this.vpc.id, tags: named('public') });
    new Route(this, 'public-default-route', {
      routeTableId: publicTable.id,
      destinationCidrBlock: '0.0.0.0/0',
      gatewayId: this.internetGateway.id,
    });
    if (ipv6) {
      new Route(this, 'public-default-route-ipv6', {
        routeTableId: publicTable.id,
        destinationIpv6CidrBlock: '::/0',
        gatewayId: this.internetGateway.id,
      });
    }
    this.publicRouteTableIds = [publicTable.id];
    this.publicSubnets = props.publicSubnets.map((cidr, i) => {
      const subnet = new Subnet(this, `public-${i}`, {
        vpcId: this.vpc.id,
        cidrBlock: cidr,
        availabilityZone: azOf(i),
        mapPublicIpOnLaunch: true,
        ...ipv6Block(i),
        tags: named(`public-${i}`),
      });
      new RouteTableAssociation(this, `public-${i}-rta`, { subnetId: subnet.id, routeTableId: publicTable.id });
      return { id: subnet.id, cidrBlock: cidr, availabilityZone: azOf(i) };
    });

    const egressOnlyGateway = ipv6 ? new EgressOnlyInternetGateway(this, 'eigw', { vpcId: this.vpc.id, tags: named('eigw') }) : undefined;
    const layout = props.privateRouteTables ?? 'single';
    const tablesByKey = new Map<string, RouteTable>();
    const tableFor = (index: number): RouteTable => {
      const key = layout === 'single' ? 'all' : layout === 'per-az' ? `az${index % azs.length}` : `subnet${index}`;
      let table = tablesByKey.get(key);
      if (!table) {
        const tableIndex = tablesByKey.size;
        table = new RouteTable(this, `private-rt-${tableIndex}`, { vpcId: this.vpc.id, tags: named(`private-${tableIndex}`) });
        if (egressOnlyGateway) {
          new Route(this, `private-rt-${tableIndex}-ipv6`, {
            routeTableId: table.id,
            destinationIpv6CidrBlock: '::/0',
            egressOnlyGatewayId: egressOnlyGateway.id,
          });
        }
        tablesByKey.set(key, table);
      }
      return table;
    };
    const privateTables: RouteTable[] = [];
    this.privateSubnets = props.privateSubnets.map((cidr, i) => {
      const subnet = new Subnet(this, `private-${i}`, {
        vpcId: this.vpc.id,
        cidrBlock: cidr,
        availabilityZone: azOf(i),
        mapPublicIpOnLaunch: false,
        ...ipv6Block(props.publicSubnets.length + i),
        tags: named(`private-${i}`),
      });
      const table = tableFor(i);
      privateTables.push(table);
      new RouteTableAssociation(this, `private-${i}-rta`, { subnetId: subnet.id, routeTableId: table.id });
      return { id: subnet.id, cidrBlock: cidr, availabilityZone: azOf(i) };
    });
    // One token string per table, so a table shared by several subnets compares equal.
    const tableIds = new Map([...tablesByKey.values()].map((table) => [table, table.id]));
    this.privateRouteTableIds = [...tableIds.values()];
    this.privateSubnetRouteTableIds = privateTables.map((table) => tableIds.get(table)!);
    this.publicSubnetIds = this.publicSubnets.map((subnet) => subnet.id);
    this.privateSubnetIds = this.privateSubnets.map((subnet) => subnet.id);

    if (props.enableSsmEndpoints) {
      // An interface endpoint takes at most one subnet per zone: the first private subnet of each.
      const firstPerZone = this.privateSubnetIds.slice(0, azs.length);
      const endpoints = new SsmEndpoints(this, 'ssm-endpoints', {
        vpcId: this.vpc.id,
        vpcCidr: props.cidr,
        subnetIds: firstPerZone,
        tags: named('ssm-endpoints'),
      });
      this.ssmEndpointSecurityGroupId = endpoints.securityGroupId;
    }
  }

  private lookUpZones(count: number): string[] {
    const zones = new DataAwsAvailabilityZones(this, 'azs', { state: 'available' });
    return Array.from({ length: count }, (_, i) => Fn.element(zones.names, i));
  }
}
