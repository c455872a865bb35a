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

export interface LookedUpSubnets {
  /** `data.aws_subnet` of each private subnet (counted). */
  readonly privateSubnets: DataAwsSubnet;
  readonly publicSubnet: DataAwsSubnet;
}

/** An address usable by an instance in the subnet `cidr`: inside it and not one of the five AWS reserves. */
const usableIn = (address: string, cidr: string) =>
  `try(cidrhost(format("%s/%s", ${address}, split("/", ${cidr})[1]), 0) == cidrhost(${cidr}, 0) && ` +
  `!contains([for n in [0, 1, 2, 3, -1] : cidrhost(${cidr}, n)], ${address}), false)`;

export function addNatModulePreconditions(instance: Instance, subnets: LookedUpSubnets): void {
  const privateSubnets = `data.aws_subnet.${subnets.privateSubnets.friendlyUniqueId}`;
  const publicSubnet = `data.aws_subnet.${subnets.publicSubnet.friendlyUniqueId}`;
  const cidrs = `${privateSubnets}[*].cidr_block`;
  const usableTarget = (address: string) => `anytrue([for c in ${cidrs} : ${usableIn(address, 'c')}])`;
  const forwardingZone = `${privateSubnets}[0].availability_zone`;
  const publicZone = `${publicSubnet}.availability_zone`;
  instance.addOverride('lifecycle.precondition', [
    {
      condition: `\${alltrue([for f in var.port_forwards : ${usableTarget('f.target_ip')}])}`,
      error_message:
        `\${format("port_forwards: target_ip must be a usable address of one of private_subnet_ids (%s), not one of the five addresses ` +
        `AWS reserves in every subnet (the first four and the last); refused: %s.", join(", ", ${cidrs}), ` +
        `join(", ", [for f in var.port_forwards : f.target_ip if !${usableTarget('f.target_ip')}]))}`,
    },
    {
      condition: `\${var.mode != "dual" || ${forwardingZone} == ${publicZone}}`,
      error_message:
        `\${format("mode is dual, but private_subnet_ids[0] (the forwarding interface's subnet) is in %s and public_subnet_id in %s: ` +
        `all interfaces of an instance must be in its availability zone; list a private subnet of %s first.", ${forwardingZone}, ${publicZone}, ${publicZone})}`,
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
