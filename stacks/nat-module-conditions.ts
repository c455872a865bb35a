import { Instance } from '@cdktf/provider-aws/lib/instance';
import { DataAwsSubnet } from '@cdktf/provider-aws/lib/data-aws-subnet';
import { dualModeWithoutElasticIpWarning } from '../modules/nat';
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

/**
 * Preconditions of the instance: forward targets against the looked-up private subnets, and
 * `additional_cidrs` against its opt-in. (The dual-mode zone check is the construct's own
 * precondition on the forwarding interface.)
 */
export function addNatModulePreconditions(instance: Instance, privateSubnetData: DataAwsSubnet): void {
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
  ]);
}

/** Dual mode without an Elastic IP works until the first stop/start: a warning, as the construct gives. */
export const DUAL_MODE_WITHOUT_ELASTIC_IP: TerraformCheckProps = {
  condition: 'var.mode != "dual" || var.elastic_ip',
  errorMessage: `${dualModeWithoutElasticIpWarning('elastic_ip')}.`,
};
