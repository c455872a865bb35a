import { Construct } from 'constructs';
import { SecurityGroup, SecurityGroupIngress } from '@cdktf/provider-aws/lib/security-group';
import { isToken } from '../shared/validation';
import type { PortForward } from './nat-instance-props';
import { tagsWithName } from '../shared/tags';

export interface NatSecurityGroupProps {
  readonly name: string;
  readonly vpcId: string;
  /** Clients whose traffic the NAT forwards: every protocol is admitted from them. */
  readonly clientCidrs: string[];
  readonly clientSecurityGroupIds: string[];
  readonly sshCidrs: string[];
  /** May be a token list (see `NatInstanceProps.portForwards`). */
  readonly portForwards: PortForward[];
  readonly tags: Record<string, string>;
}

const hasEntries = (list: string[]) => isToken(list) || list.length > 0;

/**
 * The NAT's security group: all protocols (TCP, UDP, ICMP…) from the clients, each forwarded
 * public port only from its allowed sources, SSH only when asked for; egress open.
 */
export class NatSecurityGroup extends Construct {
  public readonly securityGroupId: string;

  constructor(scope: Construct, id: string, props: NatSecurityGroupProps) {
    super(scope, id);
    const ingress: SecurityGroupIngress[] = [];
    if (hasEntries(props.clientCidrs)) {
      ingress.push({ description: 'All traffic from NAT clients', protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: props.clientCidrs });
    }
    if (hasEntries(props.clientSecurityGroupIds)) {
      ingress.push({
        description: 'All traffic from NAT client security groups',
        protocol: '-1',
        fromPort: 0,
        toPort: 0,
        securityGroups: props.clientSecurityGroupIds,
      });
    }
    if (hasEntries(props.sshCidrs)) {
      ingress.push({ description: 'SSH to the NAT', protocol: 'tcp', fromPort: 22, toPort: 22, cidrBlocks: props.sshCidrs });
    }
    // A token list (module variable) gets its rules from Terraform: see portForwardRulesOf.
    for (const forward of isToken(props.portForwards) ? [] : props.portForwards) {
      ingress.push({
        description: `Port forward ${forward.protocol ?? 'tcp'}/${forward.publicPort} to ${forward.targetIp}:${forward.targetPort}`,
        protocol: forward.protocol ?? 'tcp',
        fromPort: forward.publicPort,
        toPort: forward.publicPort,
        cidrBlocks: forward.allowedCidrs,
      });
    }
    const group = new SecurityGroup(this, 'sg', {
      name: `${props.name}-sg`,
      description: 'NAT instance: forwards traffic of private subnets to the internet',
      vpcId: props.vpcId,
      ingress,
      egress: [{ description: 'Anywhere', protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0'] }],
      tags: tagsWithName(props.tags, `${props.name}-sg`),
    });
    if (isToken(props.portForwards)) group.addOverride('dynamic.ingress', portForwardRulesOf(props.portForwards));
    this.securityGroupId = group.id;
  }
}

/** Name of the `dynamic "ingress"` iterator: `forward.value` is the current entry. */
const FORWARD = 'forward';

/**
 * One ingress block per forward of a token list (the module's `port_forwards` variable), from its
 * `allowed_cidrs`, described as the concrete path describes it. A `dynamic` block, next to the
 * fixed blocks: the provider's inline rules own the group, so separate rule resources would fight them.
 */
function portForwardRulesOf(forwards: unknown) {
  const field = (name: string) => `${FORWARD}.value.${name}`;
  return {
    for_each: forwards,
    iterator: FORWARD,
    content: {
      description: `\${format("Port forward %s/%d to %s:%d", ${field('protocol')}, ${field('public_port')}, ${field('target_ip')}, ${field('target_port')})}`,
      protocol: `\${${field('protocol')}}`,
      from_port: `\${${field('public_port')}}`,
      to_port: `\${${field('public_port')}}`,
      cidr_blocks: `\${${field('allowed_cidrs')}}`,
    },
  };
}
