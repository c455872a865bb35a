import { cidrContainsAddress, Ipv4Cidr, parseIpv4, reservedAddressRole } from '../shared/cidr';
import { checkSetting } from '../shared/setting-rules';
import { isToken } from '../shared/validation';
import type { PortForward } from './nat-instance-props';
import { PORT_FORWARD_SETTINGS as F } from './nat-settings';

/**
 * Checks `portForwards` entry by entry against the settings table (`nat-settings.ts`), then what
 * relates entries to each other and to the subnets; each error names the entry
 * (`portForwards[1].targetIp`). A token list (a module variable) is left to Terraform (the
 * variable's validation blocks and the module's preconditions).
 * @param privateCidrs the concrete private subnets; a target must be a usable address of one of them
 * @param sshCidrs when set, public TCP port 22 belongs to SSH on the NAT itself
 */
export function validatePortForwards(forwards: PortForward[], privateCidrs: Ipv4Cidr[], sshCidrs?: string[]): void {
  if (isToken(forwards)) return;
  const taken = new Map<string, number>();
  if (sshCidrs && sshCidrs.length > 0) taken.set('tcp/22', -1);
  forwards.forEach((forward, i) => {
    const entry = `portForwards[${i}]`;
    const label = (prop: string) => ({ label: `${entry}.${prop}` });
    checkSetting(F.protocol, forward.protocol, label('protocol'));
    checkSetting(F.publicPort, forward.publicPort, label('publicPort'));
    checkSetting(F.targetPort, forward.targetPort, label('targetPort'));
    checkSetting(F.targetIp, forward.targetIp, label('targetIp'));
    checkSetting(F.allowedCidrs, forward.allowedCidrs, { ...label('allowedCidrs'), anySourceAllowed: forward.allowAnySource });

    const protocol = forward.protocol ?? 'tcp';
    const key = `${protocol}/${forward.publicPort}`;
    const previous = taken.get(key);
    if (previous !== undefined) {
      const owner = previous < 0 ? `SSH on the NAT ('sshCidrs')` : `portForwards[${previous}]`;
      throw new Error(`${entry}: public port ${key} is already used by ${owner}`);
    }
    taken.set(key, i);
    if (!isToken(forward.targetIp)) requireUsableTarget(forward.targetIp, privateCidrs, `${entry}.targetIp`);
  });
}

/** The target must be inside a private subnet and not one of the addresses AWS reserves there. */
function requireUsableTarget(targetIp: string, privateCidrs: Ipv4Cidr[], label: string): void {
  if (privateCidrs.length === 0) return; // token subnets: the module's precondition checks at plan
  const target = parseIpv4(targetIp)!;
  const subnet = privateCidrs.find((cidr) => cidrContainsAddress(cidr, target));
  if (!subnet) {
    throw new Error(`'${label}' ${targetIp} is not in any of 'privateSubnets' (${privateCidrs.map((c) => c.text).join(', ')})`);
  }
  const reserved = reservedAddressRole(subnet, target);
  if (reserved) {
    throw new Error(
      `'${label}' ${targetIp} is ${reserved} of ${subnet.text}: AWS reserves the first four and the last address of every subnet`,
    );
  }
}
