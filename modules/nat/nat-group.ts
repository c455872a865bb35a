import { Construct } from 'constructs';
import { dependable, ITerraformDependable } from 'cdktf';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { NatGroupAgentPolicy } from '../iam/nat-group-agent-policy';
import type { SubnetInfo } from '../shared/subnet';
import { isToken } from '../shared/validation';
import type { NatMode } from './boot-settings';
import { HEALTH_CHECK_DEFAULTS, HealthCheckSettings, heartbeatParameterName } from './health-agent';
import { NatInstance } from './nat-instance';
import type { NatInstanceProps } from './nat-instance-props';

/** One NAT of a group: the NAT of one availability zone. */
export interface NatGroupMember {
  /** Short name, unique in the group (e.g. the zone's letter); the NAT is named `<group>-<name>`. */
  readonly name: string;
  /** The public subnet of the NAT, in this member's zone. */
  readonly publicSubnet: SubnetInfo;
  /** This zone's private route tables: the member's home tables, which it holds while it is alive. */
  readonly routeTableIds: string[];
  /**
   * Dual mode: the private subnet of the NAT's forwarding interface (in this member's zone).
   * @default the first of `privateSubnets` in the public subnet's zone
   */
  readonly forwardingSubnet?: SubnetInfo;
}

export interface NatGroupProps {
  /**
   * Group name: prefixes every member's resources and names the heartbeat parameters
   * (`/nat-instance/<name>/<member>/heartbeat`).
   * @default 'nat-group'
   */
  readonly name?: string;
  readonly vpcId: string;
  /** Every private subnet the group serves: each member translates all of them (it may hold any table). */
  readonly privateSubnets: SubnetInfo[];
  /** One member per zone, at least two; their order is the takeover order. */
  readonly members: NatGroupMember[];
  /**
   * @default 'single'
   */
  readonly mode?: NatMode;
  /**
   * Each member is a self-healing Auto Scaling group of one (a dead member is also replaced).
   * @default true
   */
  readonly selfHealing?: boolean;
  /**
   * Timing of the health agents.
   * @default HEALTH_CHECK_DEFAULTS
   */
  readonly healthCheck?: HealthCheckSettings;
  /**
   * More NatInstance props for every member (instance type, AMI, additional CIDRs, …).
   * @default {}
   */
  readonly natProps?: Partial<
    Omit<
      NatInstanceProps,
      | 'name'
      | 'vpcId'
      | 'mode'
      | 'publicSubnet'
      | 'privateSubnets'
      | 'forwardingSubnet'
      | 'routeTableIds'
      | 'routeMode'
      | 'selfHealing'
      | 'healthAgent'
      | 'egressProbeUrl'
      | 'tags'
    >
  >;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * One NAT per availability zone, each holding its zone's private route tables, and a health agent
 * on every NAT that moves a dead NAT's tables to a healthy one within seconds and gives them back
 * when it recovers (boot/health-agent.README.md). No Lambda: the NATs watch each other.
 */
export class NatGroup extends Construct {
  /** The members' NATs, in member order. */
  public readonly nats: NatInstance[];
  /** Egress IP of each member, in member order. */
  public readonly publicIps: string[];
  public readonly agentPolicies: NatGroupAgentPolicy[];

  constructor(scope: Construct, id: string, props: NatGroupProps) {
    super(scope, id);
    const groupName = props.name ?? 'nat-group';
    validateNatGroupProps(props);
    const healthCheck = { ...HEALTH_CHECK_DEFAULTS, ...props.healthCheck };
    const members = props.members.map((member) => ({ name: member.name, routeTableIds: member.routeTableIds }));
    const groupTables = props.members.flatMap((member) => member.routeTableIds);
    const tags = props.tags ?? {};

    this.nats = [];
    this.agentPolicies = [];
    for (const member of props.members) {
      const natName = `${groupName}-${member.name}`;
      const heartbeat = heartbeatParameterName(groupName, member.name);
      const nat = new NatInstance(this, member.name, {
        ...props.natProps,
        name: natName,
        vpcId: props.vpcId,
        mode: props.mode,
        publicSubnet: member.publicSubnet,
        privateSubnets: props.privateSubnets,
        forwardingSubnet: props.mode === 'dual' ? (member.forwardingSubnet ?? forwardingSubnetIn(member, props.privateSubnets)) : undefined,
        routeTableIds: member.routeTableIds,
        routeMode: 'self-claim',
        selfHealing: props.selfHealing ?? true,
        healthAgent: { groupName, self: member.name, members, healthCheck },
        tags,
      });
      // Created "starting" by Terraform (so destroy removes it); the agent overwrites it every round.
      const heartbeatParameter = new SsmParameter(this, `${member.name}-heartbeat`, {
        name: heartbeat,
        type: 'String',
        value: 'starting - - 0',
        description: `Heartbeat of ${natName}, written by its health agent`,
        tags,
        lifecycle: { ignoreChanges: ['value'] },
      });
      const agentPolicy = new NatGroupAgentPolicy(this, `${member.name}-agent`, {
        name: `${natName}-agent`,
        groupRouteTableIds: groupTables,
        ownHeartbeatParameter: heartbeat,
        groupParameterPath: `/nat-instance/${groupName}`,
        roleName: nat.role?.roleName,
        tags,
      });
      this.agentPolicies.push(agentPolicy);
      // The agent starts at first boot: its permissions and its heartbeat parameter come first (a
      // heartbeat the agent created would make Terraform's create of the parameter fail).
      const launcher = nat.autoScalingGroup?.autoScalingGroup ?? nat.instance;
      if (launcher) {
        const firsts: ITerraformDependable[] = agentPolicy.attachment ? [heartbeatParameter, agentPolicy.attachment] : [heartbeatParameter];
        launcher.dependsOn = [...(launcher.dependsOn ?? []), ...firsts.map((first) => dependable(first))];
      }
      this.nats.push(nat);
    }
    this.publicIps = this.nats.map((nat) => nat.publicIp);
  }
}

/** The first private subnet in the member's public subnet zone (dual mode). */
function forwardingSubnetIn(member: NatGroupMember, privateSubnets: SubnetInfo[]): SubnetInfo {
  const zone = member.publicSubnet.availabilityZone;
  const subnet = privateSubnets.find((candidate) => zone !== undefined && candidate.availabilityZone === zone);
  if (!subnet) {
    throw new Error(
      `NatGroup member '${member.name}': no private subnet in its zone ${zone ?? '(unknown)'} for the forwarding interface: set 'forwardingSubnet'`,
    );
  }
  return subnet;
}

function validateNatGroupProps(props: NatGroupProps): void {
  if (props.members.length < 2) throw new Error(`'members' must hold at least two NATs (one per zone), got ${props.members.length}`);
  const names = new Set<string>();
  const tables = new Set<string>();
  props.members.forEach((member, i) => {
    if (!/^[a-z0-9][a-z0-9-]{0,19}$/.test(member.name)) {
      throw new Error(`'members[${i}].name' must be 1-20 lower-case letters, digits or dashes, got '${member.name}'`);
    }
    if (names.has(member.name)) throw new Error(`'members' names ${member.name} twice`);
    names.add(member.name);
    if (member.routeTableIds.length === 0) throw new Error(`'members[${i}].routeTableIds' must hold the zone's private route tables`);
    for (const table of member.routeTableIds) {
      if (!isToken(table) && !/^rtb-[0-9a-f]+$/.test(table))
        throw new Error(`'members[${i}].routeTableIds' holds '${table}', not a route-table ID`);
      if (tables.has(table)) throw new Error(`route table ${table} is listed for two members: a table has one home NAT`);
      tables.add(table);
    }
  });
  const zones = props.members
    .map((member) => member.publicSubnet.availabilityZone)
    .filter((zone): zone is string => zone !== undefined && !isToken(zone));
  const repeated = zones.find((zone, i) => zones.indexOf(zone) !== i);
  if (repeated) throw new Error(`two members have their public subnet in ${repeated}: a group has one NAT per zone`);
}

/**
 * The members of a group with one NAT per zone of a Network-like layout: for each zone holding a
 * public subnet, its first public subnet and the route tables of its private subnets. Named by the
 * zone's last letter (`eu-central-1a` → `a`).
 */
export function natGroupMembersByZone(network: {
  readonly publicSubnets: SubnetInfo[];
  readonly privateSubnets: SubnetInfo[];
  /** The route table of each private subnet; a table shared by subnets appears as the same string (Network does so). */
  readonly privateSubnetRouteTableIds: string[];
}): NatGroupMember[] {
  const zones = [...new Set(network.privateSubnets.map((subnet) => subnet.availabilityZone))];
  return zones.map((zone) => {
    if (zone === undefined || isToken(zone)) throw new Error('natGroupMembersByZone needs concrete availability zones');
    const publicSubnet = network.publicSubnets.find((subnet) => subnet.availabilityZone === zone);
    if (!publicSubnet) throw new Error(`zone ${zone} has private subnets but no public subnet for its NAT`);
    const routeTableIds: string[] = [];
    network.privateSubnets.forEach((subnet, i) => {
      const table = network.privateSubnetRouteTableIds[i];
      if (subnet.availabilityZone === zone && !routeTableIds.includes(table)) routeTableIds.push(table);
    });
    return { name: zone.slice(-1), publicSubnet, routeTableIds };
  });
}
