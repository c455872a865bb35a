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
