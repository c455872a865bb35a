import { Fn, FOR_EXPRESSION_VALUE, propertyAccess, ref, Token, Tokenization } from 'cdktf';
import type { SecurityGroupIngress } from '@cdktf/provider-aws/lib/security-group';
import { mapList } from '../shared/terraform-expressions';
import type { PortForward } from './nat-instance-props';

/**
 * One renderer for port forwards, read two ways: with concrete values at synth (the text lands in
 * the JSON literally) or as Terraform expressions over a list only Terraform knows (a module
 * variable). The renderings are written once, against `Terms`; `test/unit/nat-module.test.ts`
 * evaluates the Terraform reading with `terraform console` and compares it with the concrete one.
 */

/** A port forward in Terraform's words (the module's `port_forwards` attributes), every attribute set. */
export interface TerraformPortForward {
  readonly protocol: string;
  readonly public_port: number;
  readonly target_ip: string;
  readonly target_port: number;
  readonly allowed_cidrs: string[];
  readonly preserve_client_ip: boolean;
  readonly allow_any_source: boolean;
}

/** The concrete prop with its defaults applied, in Terraform's words. */
export function terraformPortForwardOf(forward: PortForward): TerraformPortForward {
  return {
    protocol: forward.protocol ?? 'tcp',
    public_port: forward.publicPort,
    target_ip: forward.targetIp,
    target_port: forward.targetPort,
    allowed_cidrs: forward.allowedCidrs,
    preserve_client_ip: forward.preserveClientIp ?? true,
    allow_any_source: forward.allowAnySource ?? false,
  };
}

/** What the renderings need: an attribute of the forward at hand, and three of Terraform's functions. */
interface Terms<T> {
  attribute(name: keyof TerraformPortForward): T;
  /** Terraform's `format` with `%s` and `%d`. */
  format(spec: string, args: T[]): T;
  choose(condition: T, whenTrue: string, whenFalse: string): T;
  join(separator: string, list: T): T;
}

/** The `NAT_PORT_FORWARD` line (format: `boot-settings.ts`, `boot/README.md`). */
function settingsLine<T>(terms: Terms<T>, prefix = ''): T {
  const at = terms.attribute;
  return terms.format(`${prefix}NAT_PORT_FORWARD=%s %d %s %d %s %s`, [
    at('protocol'),
    at('public_port'),
    at('target_ip'),
    at('target_port'),
    terms.choose(at('preserve_client_ip'), 'preserve', 'masquerade'),
    terms.join(',', at('allowed_cidrs')),
  ]);
}

/** The security-group rule: the public port, only from the forward's sources. */
function ingressRule<T>(terms: Terms<T>) {
  const at = terms.attribute;
  return {
    description: terms.format('Port forward %s/%d to %s:%d', [at('protocol'), at('public_port'), at('target_ip'), at('target_port')]),
    protocol: at('protocol'),
    from_port: at('public_port'),
    to_port: at('public_port'),
    cidr_blocks: at('allowed_cidrs'),
  };
}

/** Terraform's `format` for `%s` and `%d` on concrete values (a single token among them becomes its interpolation). */
function formatConcrete(spec: string, args: unknown[]): string {
  let next = 0;
  return spec.replace(/%[sd]/g, () => {
    const arg = args[next++];
    return typeof arg === 'number' && Token.isUnresolved(arg) ? Tokenization.stringifyNumber(arg) : String(arg);
  });
}

function concreteTerms(forward: TerraformPortForward): Terms<unknown> {
  return {
    attribute: (name) => forward[name],
    format: formatConcrete,
    choose: (condition, whenTrue, whenFalse) => (condition ? whenTrue : whenFalse),
    join: (separator, list) => (Token.isUnresolved(list) ? Fn.join(separator, list as string[]) : (list as string[]).join(separator)),
  };
}

/** Terms over `<object>.<attribute>` references: a for-expression's value, or a dynamic block's iterator. */
function terraformTerms(object: unknown): Terms<unknown> {
  return {
    attribute: (name) => propertyAccess(object as never, [name]),
    format: (spec, args) => Fn.format(spec, args),
    choose: (condition, whenTrue, whenFalse) => Fn.conditional(condition, whenTrue, whenFalse),
    join: (separator, list) => Fn.join(separator, Token.asList(list)),
  };
}

/**
 * The settings lines of the forwards. Concrete forwards: one line each. A token list: one string,
 * built by Terraform, in which every line starts with a line break and `lineIndent`, so that it
 * continues the line it is appended to.
 */
export function portForwardSettingsLines(forwards: TerraformPortForward[], lineIndent: string): string[] {
  if (!Token.isUnresolved(forwards)) return forwards.map((forward) => settingsLine(concreteTerms(forward)) as string);
  const lines = mapList(forwards, () => settingsLine(terraformTerms(FOR_EXPRESSION_VALUE), `\n${lineIndent}`) as never);
  return [Fn.join('', Token.asList(lines))];
}

/** The security-group rules of concrete forwards. */
export function portForwardIngress(forwards: TerraformPortForward[]): SecurityGroupIngress[] {
  return forwards.map((forward) => {
    const rule = ingressRule(concreteTerms(forward)) as unknown as Record<string, never>;
    return {
      description: rule.description,
      protocol: rule.protocol,
      fromPort: rule.from_port,
      toPort: rule.to_port,
      cidrBlocks: rule.cidr_blocks,
    };
  });
}

/** A `dynamic "ingress"` block of the synthesized JSON: one rule per element of `for_each`. */
export interface DynamicIngress {
  readonly for_each: unknown;
  readonly iterator: string;
  readonly content: Record<string, unknown>;
}

/** Name of the `dynamic "ingress"` iterator of forwards: `forward.value` is the current entry. */
const FORWARD_ITERATOR = 'forward';

/**
 * The security-group rules of a token list, one `dynamic "ingress"` block over it. Inline rules,
 * next to the fixed ones: the provider's inline rules own the group, so separate rule resources
 * would fight them.
 */
export function portForwardDynamicIngress(forwards: unknown): DynamicIngress {
  return { for_each: forwards, iterator: FORWARD_ITERATOR, content: ingressRule(terraformTerms(ref(`${FORWARD_ITERATOR}.value`))) };
}
