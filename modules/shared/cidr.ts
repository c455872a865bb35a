/**
 * IPv4 address and CIDR arithmetic used to validate props at synth time.
 * Values that are Terraform tokens never reach these functions: callers check
 * `Token.isUnresolved` first.
 */

/** A parsed IPv4 CIDR block: network address as an unsigned 32-bit number and prefix length. */
export interface Ipv4Cidr {
  readonly network: number;
  readonly prefix: number;
  /** The text as given, for messages. */
  readonly text: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address, or returns undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const match = IPV4.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1).map(Number);
  if (octets.some((o, i) => o > 255 || (match[i + 1].length > 1 && match[i + 1].startsWith('0')))) return undefined;
  return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses `a.b.c.d/n`. Throws an Error naming `what` (the prop) when the text is not a
 * CIDR block or has host bits set (`10.0.0.1/16`), because AWS rejects both.
 */
export function parseCidr(text: string, what: string): Ipv4Cidr {
  const [address, prefixText, extra] = text.split('/');
  const network = parseIpv4(address ?? '');
  const prefix = Number(prefixText);
  // No leading zeros (`/08`), like the addresses: the boot script and Terraform refuse them too.
  if (extra !== undefined || network === undefined || !/^(0|[1-9][0-9]?)$/.test(prefixText ?? '') || prefix > 32) {
    throw new Error(`${what}: '${text}' is not an IPv4 CIDR block like 10.0.0.0/16`);
  }
  if ((network & ~mask(prefix)) >>> 0 !== 0) {
    throw new Error(`${what}: '${text}' has host bits set; did you mean ${formatIpv4((network & mask(prefix)) >>> 0)}/${prefix}?`);
  }
  return { network, prefix, text };
}

/** True when every address of `inner` lies inside `outer`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && (inner.network & mask(outer.prefix)) >>> 0 === outer.network;
}

/** True when the two blocks share at least one address. */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** True when the address lies inside the block. */
export function cidrContainsAddress(block: Ipv4Cidr, address: number): boolean {
  return (address & mask(block.prefix)) >>> 0 === block.network;
}

/** The VPC router's address of a subnet: its network address plus one (`10.0.1.0/24` → `10.0.1.1`). */
export function subnetRouterAddress(block: Ipv4Cidr): string {
  return formatIpv4(block.network + 1);
}

/**
 * How many addresses the blocks cover together, overlaps counted once. Two CIDR blocks are either
 * disjoint or nested, so the union is the sum of the blocks that no other block contains.
 */
export function addressesCovered(blocks: readonly Ipv4Cidr[]): number {
  const distinct = blocks.filter(
    (block, i) => blocks.findIndex((other) => other.network === block.network && other.prefix === block.prefix) === i,
  );
  return distinct
    .filter((block) => !distinct.some((other) => other !== block && cidrContains(other, block)))
    .reduce((sum, block) => sum + 2 ** (32 - block.prefix), 0);
}

/**
 * What AWS reserves an address of a subnet for, or undefined when instances may use it: the first
 * four addresses and the last one of every subnet
 * (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
 */
export function reservedAddressRole(block: Ipv4Cidr, address: number): string | undefined {
  if (!cidrContainsAddress(block, address)) return undefined;
  const offset = address - block.network;
  const roles = ['the network address', 'the VPC router', 'the DNS server address', 'reserved by AWS for future use'];
  if (offset < roles.length) return roles[offset];
  return offset === 2 ** (32 - block.prefix) - 1 ? 'the broadcast address' : undefined;
}
