import { cidrContainsAddress, Ipv4Cidr, parseIpv4 } from '../shared/cidr';
import { concreteCidr, isToken } from '../shared/validation';
import type { PortForward } from './nat-instance-props';

function requirePort(value: number, what: string): void {
  if (isToken(value)) return;
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${what} must be a port from 1 to 65535, got ${value}`);
  }
}

/**
 * Checks `portForwards` entry by entry; each error names the entry (`portForwards[1]`). A token
 * list (a module variable) is left to Terraform (the variable's validation blocks).
 * @param privateCidrs the concrete private subnets; a target must lie in one of them
 * @param sshCidrs when set, public TCP port 22 belongs to SSH on the NAT itself
 */
export function validatePortForwards(forwards: PortForward[], privateCidrs: Ipv4Cidr[], sshCidrs?: string[]): void {
  if (isToken(forwards)) return;
  const taken = new Map<string, number>();
  if (sshCidrs && sshCidrs.length > 0) taken.set('tcp/22', -1);
  forwards.forEach((forward, i) => {
    const entry = `portForwards[${i}]`;
    const protocol = forward.protocol ?? 'tcp';
    if (!isToken(protocol) && protocol !== 'tcp' && protocol !== 'udp') {
      throw new Error(`${entry}.protocol must be 'tcp' or 'udp', got '${protocol}'`);
    }
    requirePort(forward.publicPort, `${entry}.publicPort`);
    requirePort(forward.targetPort, `${entry}.targetPort`);
    const key = `${protocol}/${forward.publicPort}`;
    const previous = taken.get(key);
    if (previous !== undefined) {
      const owner = previous < 0 ? `SSH on the NAT ('sshCidrs')` : `portForwards[${previous}]`;
      throw new Error(`${entry}: public port ${key} is already used by ${owner}`);
    }
    taken.set(key, i);

    if (!isToken(forward.targetIp)) {
      const target = parseIpv4(forward.targetIp);
      if (target === undefined) throw new Error(`${entry}.targetIp '${forward.targetIp}' is not an IPv4 address`);
      if (privateCidrs.length > 0 && !privateCidrs.some((cidr) => cidrContainsAddress(cidr, target))) {
        throw new Error(
          `${entry}.targetIp ${forward.targetIp} is not in any of 'privateSubnets' (${privateCidrs.map((c) => c.text).join(', ')})`,
        );
      }
    }
    if (isToken(forward.allowedCidrs)) return;
    if (!forward.allowedCidrs || forward.allowedCidrs.length === 0) {
      throw new Error(`${entry}.allowedCidrs must name at least one client CIDR block`);
    }
    forward.allowedCidrs.forEach((text, j) => {
      const cidr = concreteCidr(text, `${entry}.allowedCidrs[${j}]`);
      if (cidr && cidr.prefix === 0 && !forward.allowAnySource) {
        throw new Error(`${entry}.allowedCidrs[${j}] is ${text}, the whole internet: set allowAnySource: true if you mean it`);
      }
    });
  });
}
