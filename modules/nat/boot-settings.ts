import { Fn, Op, Token } from 'cdktf';
import { portForwardSettingsLines, TerraformPortForward } from './port-forward-rendering';

/**
 * The contract between the NatInstance construct and the boot script
 * (`boot/nat-instance.sh`): the settings file the script reads, once, at every boot.
 *
 * Format: one `KEY=value` per line, no quoting, `#` comments; the script parses it
 * without sourcing it, rejects unknown keys and validates every value before it
 * changes anything. `NAT_PORT_FORWARD` may repeat (one line per forward).
 *
 * | key | value |
 * |---|---|
 * | NAT_MODE | `single` (one interface) or `dual` (public + private interface) |
 * | NAT_PRIVATE_CIDRS | comma-separated IPv4 CIDRs whose traffic is translated |
 * | NAT_FORWARDING_SUBNET_CIDR | dual only: the private subnet holding the forwarding interface |
 * | NAT_INTERFACE_WAIT_SECONDS | how long to wait for a late-attached secondary interface |
 * | NAT_CONNTRACK_MAX | connection-tracking table size |
 * | NAT_ROUTE_MODE | `terraform` (routes managed by Terraform) or `self-claim` (the script claims them) |
 * | NAT_ROUTE_TABLE_IDS | self-claim only: comma-separated route-table IDs to point at this instance |
 * | NAT_PORT_FORWARD | `<tcp/udp> <public port> <target ip> <target port> <preserve/masquerade> <cidr,cidr…>` |
 * | NAT_PUBLIC_ADDRESS_COUNT | addresses the public interface carries (source NAT spreads over them); absent: 1 |
 * | NAT_ELASTIC_IP_ALLOCATION_ID | self-healing: the Elastic IP the instance associates with its public interface |
 * | NAT_FORWARDING_INTERFACE_ID | self-healing, dual only: the static forwarding interface the instance attaches as device 1 |
 * | NAT_DISABLE_SOURCE_DEST_CHECK | self-healing, single only: `true` turns off the check on the instance's own interface |
 */
export const SETTINGS_PATH = '/etc/nat-instance/settings';
/** Per-boot scripts run on every boot, first boot included (cloud-init `scripts_per_boot`). */
export const BOOT_SCRIPT_PATH = '/var/lib/cloud/scripts/per-boot/nat-instance.sh';
export const LOG_PATH = '/var/log/nat-instance.log';

export type NatMode = 'single' | 'dual';
export type RouteMode = 'terraform' | 'self-claim';
export type ForwardProtocol = 'tcp' | 'udp';

/** Everything the boot script needs; values may be Terraform tokens where noted. */
export interface NatBootSettings {
  readonly mode: NatMode;
  /** May be a token list (plain-Terraform module use). */
  readonly privateCidrs: string[];
  /** Dual mode only; may be a token. */
  readonly forwardingSubnetCidr?: string;
  readonly interfaceWaitSeconds: number;
  readonly conntrackMax: number;
  readonly routeMode: RouteMode;
  /** Self-claim only; may be a token list. */
  readonly routeTableIds: string[];
  /**
   * May be a token: a Terraform list of such objects, every attribute set (the plain-Terraform
   * module's `port_forwards` variable, whose optional attributes have defaults). Rendered by
   * `port-forward-rendering.ts`, like their security-group rules.
   */
  readonly portForwards: TerraformPortForward[];
  /** Addresses of the public interface (primary plus secondaries); may be a token. @default 1 */
  readonly publicAddressCount?: number;
  /** Self-healing: the Elastic IP (`eipalloc-…`, usually a token) the instance associates at boot. */
  readonly elasticIpAllocationId?: string;
  /** Self-healing dual mode: the static forwarding interface (`eni-…`, usually a token) the instance attaches at boot. */
  readonly forwardingInterfaceId?: string;
  /** Self-healing single mode: the instance turns off the source/destination check of its interface; may be a token. */
  readonly disableSourceDestCheck?: boolean;
}

/** Joins a list with commas, through Terraform's `join` when the list is a token list. */
function joinList(values: string[]): string {
  return Token.isUnresolved(values) ? Fn.join(',', values) : values.join(',');
}

/**
 * Renders the settings file. Concrete values appear literally; tokens become `${…}` interpolations.
 * @param lineIndent what precedes each line where the text ends up (an indented YAML block): lines
 *   that Terraform generates (port forwards of a token list) start with it; others are left to the caller
 */
export function renderSettingsFile(settings: NatBootSettings, lineIndent = ''): string {
  const lines = [
    '# Written by cdktf-nat-instance; read by nat-instance.sh at every boot.',
    `NAT_MODE=${settings.mode}`,
    `NAT_PRIVATE_CIDRS=${joinList(settings.privateCidrs)}`,
  ];
  if (settings.forwardingSubnetCidr !== undefined) {
    const line = `NAT_FORWARDING_SUBNET_CIDR=${settings.forwardingSubnetCidr}`;
    if (Token.isUnresolved(settings.mode)) {
      // Mode chosen by a module variable: Terraform writes the line only in dual mode.
      lines.push(Fn.conditional(Op.eq(settings.mode, 'dual'), line, '# single mode: no forwarding subnet'));
    } else if (settings.mode === 'dual') {
      lines.push(line);
    }
  }
  lines.push(
    `NAT_INTERFACE_WAIT_SECONDS=${settings.interfaceWaitSeconds}`,
    `NAT_CONNTRACK_MAX=${settings.conntrackMax}`,
    `NAT_ROUTE_MODE=${settings.routeMode}`,
  );
  if (settings.routeMode === 'self-claim') {
    lines.push(`NAT_ROUTE_TABLE_IDS=${joinList(settings.routeTableIds)}`);
  }
  if (settings.publicAddressCount !== undefined) lines.push(`NAT_PUBLIC_ADDRESS_COUNT=${settings.publicAddressCount}`);
  if (settings.elasticIpAllocationId !== undefined) {
    lines.push(`NAT_ELASTIC_IP_ALLOCATION_ID=${settings.elasticIpAllocationId}`);
  }
  if (settings.forwardingInterfaceId !== undefined) {
    const line = `NAT_FORWARDING_INTERFACE_ID=${settings.forwardingInterfaceId}`;
    // Mode chosen by a module variable: Terraform writes the line only in dual mode.
    lines.push(
      Token.isUnresolved(settings.mode)
        ? Fn.conditional(Op.eq(settings.mode, 'dual'), line, '# single mode: no forwarding interface')
        : line,
    );
  }
  if (Token.isUnresolved(settings.disableSourceDestCheck)) {
    lines.push(
      Fn.conditional(
        settings.disableSourceDestCheck,
        'NAT_DISABLE_SOURCE_DEST_CHECK=true',
        '# dual mode: the forwarding interface has no source/destination check',
      ),
    );
  } else if (settings.disableSourceDestCheck) {
    lines.push('NAT_DISABLE_SOURCE_DEST_CHECK=true');
  }
  const forwardLines = portForwardSettingsLines(settings.portForwards, lineIndent);
  if (Token.isUnresolved(settings.portForwards)) {
    // A module variable: Terraform appends one line per forward (none for an empty list).
    lines[lines.length - 1] += forwardLines[0];
  } else {
    lines.push(...forwardLines);
  }
  return lines.join('\n') + '\n';
}
