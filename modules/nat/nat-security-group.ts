import { Construct } from 'constructs';
import { Fn, Op } from 'cdktf';
import { SecurityGroup, SecurityGroupIngress } from '@cdktf/provider-aws/lib/security-group';
import { isToken } from '../shared/validation';
import { tagsWithName } from '../shared/tags';
import { DynamicIngress, portForwardDynamicIngress, portForwardIngress, TerraformPortForward } from './port-forward-rendering';
import { NAME_SUFFIXES } from './resource-names';

export interface NatSecurityGroupProps {
  readonly name: string;
  readonly vpcId: string;
  /** Clients whose traffic the NAT forwards: every protocol is admitted from them. */
  readonly clientCidrs: string[];
  readonly clientSecurityGroupIds: string[];
  readonly sshCidrs: string[];
  /** May be a token list (see `NatInstanceProps.portForwards`). */
  readonly portForwards: TerraformPortForward[];
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
    const dynamicIngress: DynamicIngress[] = [];
    if (isToken(props.clientSecurityGroupIds)) {
      // A module variable, empty by default: a rule without any source must not be emitted.
      dynamicIngress.push(clientGroupsRuleOf(props.clientSecurityGroupIds));
    } else if (props.clientSecurityGroupIds.length > 0) {
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
    // A token list (module variable) gets its rules from Terraform, one per forward.
    if (isToken(props.portForwards)) dynamicIngress.push(portForwardDynamicIngress(props.portForwards));
    else ingress.push(...portForwardIngress(props.portForwards));
    // In .tf.json Terraform reads an `ingress` key as the attribute form, which would shadow
    // `dynamic "ingress"` blocks: once one rule set is dynamic, every rule is.
    const anyDynamic = dynamicIngress.length > 0;
    const groupName = `${props.name}${NAME_SUFFIXES.securityGroup}`;
    const group = new SecurityGroup(this, 'sg', {
      name: groupName,
      description: 'NAT instance: forwards traffic of private subnets to the internet',
      vpcId: props.vpcId,
      ingress: anyDynamic ? undefined : ingress,
      egress: [{ description: 'Anywhere', protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0'] }],
      tags: tagsWithName(props.tags, groupName),
    });
    if (anyDynamic) group.addOverride('dynamic.ingress', [fixedRulesOf(ingress), ...dynamicIngress]);
    this.securityGroupId = group.id;
  }
}

/** Fixed rules as one dynamic block over their list (every rule carries every field, null where unused). */
function fixedRulesOf(rules: SecurityGroupIngress[]): DynamicIngress {
  const field = (name: string) => `\${rule.value.${name}}`;
  return {
    for_each: rules.map((rule) => ({
      description: rule.description,
      protocol: rule.protocol,
      from_port: rule.fromPort,
      to_port: rule.toPort,
      cidr_blocks: rule.cidrBlocks ?? null,
      security_groups: rule.securityGroups ?? null,
    })),
    iterator: 'rule',
    content: Object.fromEntries(
      ['description', 'protocol', 'from_port', 'to_port', 'cidr_blocks', 'security_groups'].map((name) => [name, field(name)]),
    ),
  };
}

/** The client security groups' rule, emitted by Terraform only when the token list is not empty. */
function clientGroupsRuleOf(securityGroupIds: string[]): DynamicIngress {
  return {
    // `>= 1`, not `> 0`: cdktf 0.21 renders the operand 0 of Op.gt as `undefined`.
    for_each: Fn.conditional(Op.gte(Fn.lengthOf(securityGroupIds), 1), [securityGroupIds], []),
    iterator: 'client_groups',
    content: {
      description: 'All traffic from NAT client security groups',
      protocol: '-1',
      from_port: 0,
      to_port: 0,
      security_groups: '${client_groups.value}',
    },
  };
}
