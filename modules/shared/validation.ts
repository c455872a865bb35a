import { Token } from 'cdktf';
import { Ipv4Cidr, parseCidr } from './cidr';

/** True when a value (or any element of a list) is only known when Terraform applies. */
export function isToken(value: unknown): boolean {
  return Token.isUnresolved(value);
}

/** Parses a CIDR prop unless it is a token (validated by Terraform later); returns undefined for tokens. */
export function concreteCidr(text: string, what: string): Ipv4Cidr | undefined {
  return isToken(text) ? undefined : parseCidr(text, what);
}

/** Throws when a concrete list is empty; a token list has unknown length at synth and passes. */
export function requireNonEmpty(values: readonly unknown[] | undefined, what: string): void {
  if (values === undefined || (!isToken(values) && values.length === 0)) {
    throw new Error(`'${what}' must contain at least one element`);
  }
}

/** Throws unless a concrete number is a whole number in [min, max]; undefined and tokens pass. */
export function requireIntegerIn(value: number | undefined, prop: string, min: number, max: number): void {
  if (value === undefined || isToken(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`'${prop}' must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

/** Route-table IDs: a non-empty list whose concrete entries look like `rtb-…` (the boot script refuses anything else). */
export function requireRouteTableIds(ids: string[], prop: string): void {
  requireNonEmpty(ids, prop);
  if (isToken(ids)) return;
  ids.forEach((id, i) => {
    if (!isToken(id) && !/^rtb-[0-9a-f]+$/.test(id)) throw new Error(`'${prop}[${i}]' must be a route-table ID (rtb-…), got '${id}'`);
  });
}
