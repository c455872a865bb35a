import type { TerraformResource } from 'cdktf';
import { DataAwsSubnet } from '@cdktf/provider-aws/lib/data-aws-subnet';
import { dualModeWithoutElasticIpWarning, GRAVITON_INSTANCE_TYPE } from '../modules/nat';
import { MAX_INSTANCE_TYPES } from '../modules/nat/nat-validation';
import { NAT_INSTANCE_SETTINGS as S } from '../modules/nat/nat-settings';
import { anySourceCondition, anySourceMessage } from '../modules/shared/setting-rules';
import type { TerraformCheckProps } from '../modules/shared/terraform-check';

/**
 * The plain-Terraform module's checks across variables and looked-up subnets: what the construct
 * refuses at synth from concrete props, the module refuses at `terraform plan` (preconditions of
 * the instance, so nothing is created), or warns about (a `check` block).
 */

/** An address usable by an instance in the subnet `cidr`: inside it and not one of the five AWS reserves. */
const usableIn = (address: string, cidr: string) =>
  `try(cidrhost(format("%s/%s", ${address}, split("/", ${cidr})[1]), 0) == cidrhost(${cidr}, 0) && ` +
  `!contains([for n in [0, 1, 2, 3, -1] : cidrhost(${cidr}, n)], ${address}), false)`;

/** A precondition block as Terraform JSON writes it. */
export interface ModulePrecondition {
  readonly condition: string;
  readonly error_message: string;
}

/**
 * Preconditions of the instance (of the launch template, when self-healing): forward targets
 * against the looked-up private subnets, `additional_cidrs` against its opt-in, and `more`. (The
 * dual-mode zone check is the construct's own precondition on the forwarding interface.)
 */
export function addNatModulePreconditions(
  instance: TerraformResource,
  privateSubnetData: DataAwsSubnet,
  more: ModulePrecondition[] = [],
): void {
  const cidrs = `data.aws_subnet.${privateSubnetData.friendlyUniqueId}[*].cidr_block`;
  const usableTarget = (address: string) => `anytrue([for c in ${cidrs} : ${usableIn(address, 'c')}])`;
  instance.addOverride('lifecycle.precondition', [
    {
      condition: `\${alltrue([for f in var.port_forwards : ${usableTarget('f.target_ip')}])}`,
      error_message:
        `\${format("port_forwards: target_ip must be a usable address of one of private_subnet_ids (%s), not one of the five addresses ` +
        `AWS reserves in every subnet (the first four and the last); refused: %s.", join(", ", ${cidrs}), ` +
        `join(", ", [for f in var.port_forwards : f.target_ip if !${usableTarget('f.target_ip')}]))}`,
    },
    {
      condition: `\${${anySourceCondition('var.additional_cidrs', 'var.allow_any_client_source')}}`,
      error_message: anySourceMessage('additional_cidrs', S.additionalCidrs.list!.anySourceOptIn!),
    },
    ...more,
  ]);
}

/** Graviton or not, in Terraform's words (the AMI follows `instance_type`). */
const isGraviton = (type: string) => `can(regex(${JSON.stringify(GRAVITON_INSTANCE_TYPE)}, ${type}))`;

/**
 * What the construct refuses at synth in `fallbackInstanceTypes` and the variable validations
 * cannot see (another variable): a repeat of `instance_type`, a type of the other architecture
 * (one launch template, one AMI, serves every type).
 */
export function fallbackInstanceTypePreconditions(): ModulePrecondition[] {
  return [
    {
      condition: `\${length(var.fallback_instance_types) <= ${MAX_INSTANCE_TYPES - 1}}`,
      error_message: `fallback_instance_types holds more than ${MAX_INSTANCE_TYPES - 1} types; with instance_type an Auto Scaling group takes at most ${MAX_INSTANCE_TYPES}.`,
    },
    {
      condition: '${!contains(var.fallback_instance_types, var.instance_type)}',
      error_message: '${format("fallback_instance_types lists %s, which is instance_type already.", var.instance_type)}',
    },
    {
      condition: `\${alltrue([for t in var.fallback_instance_types : ${isGraviton('t')} == ${isGraviton('var.instance_type')}])}`,
      error_message:
        `\${format("fallback_instance_types: every type must have the architecture of instance_type %s (one launch template and AMI serve them all); refused: %s.", ` +
        `var.instance_type, join(", ", [for t in var.fallback_instance_types : t if ${isGraviton('t')} != ${isGraviton('var.instance_type')}]))}`,
    },
  ];
}

/** Dual mode without an Elastic IP works until the first stop/start: a warning, as the construct gives. */
export const DUAL_MODE_WITHOUT_ELASTIC_IP: TerraformCheckProps = {
  condition: 'var.mode != "dual" || var.elastic_ip',
  errorMessage: `${dualModeWithoutElasticIpWarning('elastic_ip')}.`,
};
