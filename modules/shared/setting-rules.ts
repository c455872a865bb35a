import { addressesCovered, Ipv4Cidr, parseCidr, parseIpv4 } from './cidr';
import { isToken } from './validation';

/**
 * Declarative rules for settings, with the three readings every front-end needs: a check of
 * concrete values at synth (`checkSetting`), Terraform conditions for a module's `validation`
 * blocks (`conditionsOf`), and the words of the documentation (`describeSetting`). One rule,
 * written once, so the construct, the module and the docs cannot drift apart.
 *
 * Patterns are written in the common subset of JavaScript and RE2 (Terraform's `regex`): no
 * backslashes, no look-around, no inline flags.
 */

/** A rule one value, each item of a list, or each key of a map must satisfy. */
export type ValueRule =
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  | { readonly kind: 'oneOf'; readonly values: readonly string[] }
  /** `shape` names what matches, as in "must be <shape>". */
  | { readonly kind: 'pattern'; readonly pattern: string; readonly shape: string }
  /** `shape` names what must not match, as in "must not <shape>". */
  | { readonly kind: 'notPattern'; readonly pattern: string; readonly shape: string }
  | { readonly kind: 'ipv4' }
  | { readonly kind: 'cidr' };

/** The setting that lets a CIDR list cover the whole internet (or a large part of it). */
export interface AnySourceOptIn {
  readonly prop: string;
  readonly variable?: string;
  /** What the list opens, for the message: "every port of the NAT". */
  readonly reach: string;
}

export interface ListRules {
  readonly minItems?: number;
  readonly unique?: boolean;
  /** The list admits traffic: covering `ANY_SOURCE_ADDRESSES` or more needs this opt-in. */
  readonly anySourceOptIn?: AnySourceOptIn;
}

export interface MapRules {
  readonly maxKeys: number;
  /** Keys we add ourselves (the `Name` tag): they count toward `maxKeys`. */
  readonly addedKeys: readonly string[];
}

export type SettingType = 'string' | 'number' | 'bool' | 'list(string)' | 'map(string)';

/** One setting: where it lives in each front-end, and what it accepts. */
export interface Setting {
  /** The construct prop, as messages name it (`portForwards[].publicPort` style for nested ones). */
  readonly prop: string;
  /** The plain-Terraform module's variable (or `port_forwards` attribute), when there is one. */
  readonly variable?: string;
  /** The boot script's settings key, when the value reaches the instance. */
  readonly setting?: string;
  readonly type: SettingType;
  /** Rules for the value, each list item, or each map key. */
  readonly rules: readonly ValueRule[];
  readonly list?: ListRules;
  readonly map?: MapRules;
  /** The default value, as the construct and the module's variable have it. */
  readonly default?: string | number | boolean | readonly string[] | Readonly<Record<string, string>>;
  /** The default in words, when it is not a value (`privateSubnets[0]`, a lookup). */
  readonly defaultText?: string;
  /** One line for the documentation. */
  readonly summary: string;
}

/**
 * A CIDR list that covers this many addresses or more needs an explicit opt-in: 2^25, a /7. The
 * largest private range is 10.0.0.0/8 (2^24) and all private-use ranges together (RFC 1918 and
 * RFC 6598: 10/8, 172.16/12, 192.168/16, 100.64/10) hold about 21.8 million addresses, under 2^25;
 * a list at or over the threshold therefore admits at least 11 million public addresses. Counting
 * the union, not matching `0.0.0.0/0`, also catches the internet split as 0.0.0.0/1 + 128.0.0.0/1.
 */
export const ANY_SOURCE_ADDRESSES = 2 ** 25;

type Quote = (text: string) => string;
const single: Quote = (text) => `'${text}'`;
const double: Quote = (text) => `"${text}"`;

/** "a whole number from 1 to 65535", "'tcp' or 'udp'": what a rule accepts, as a noun phrase. */
export function ruleShape(rule: ValueRule, quote: Quote = single): string {
  switch (rule.kind) {
    case 'integer':
      return `a whole number from ${rule.min} to ${rule.max}`;
    case 'oneOf':
      return rule.values.length === 1
        ? quote(rule.values[0])
        : `${rule.values.slice(0, -1).map(quote).join(', ')} or ${quote(rule.values[rule.values.length - 1])}`;
    case 'pattern':
      return rule.shape;
    case 'notPattern':
      return `anything that does not ${rule.shape}`;
    case 'ipv4':
      return 'an IPv4 address like 10.0.1.10';
    case 'cidr':
      return 'an IPv4 CIDR block like 10.0.0.0/16, without host bits';
  }
}

/** The whole rule set of a setting in words, for the documentation table. */
export function describeSetting(setting: Setting): string {
  const shapes = setting.rules.flatMap((rule) => (rule.kind === 'notPattern' ? [] : [ruleShape(rule)]));
  const exclusions = setting.rules.flatMap((rule) => (rule.kind === 'notPattern' ? [`must not ${rule.shape}`] : []));
  const parts: string[] = [];
  if (setting.map) {
    parts.push(
      `at most ${setting.map.maxKeys} keys counting ${setting.map.addedKeys.map(single).join(', ')}`,
      ...exclusions.map((words) => `keys ${words}`),
    );
  } else if (setting.list) {
    const { minItems, unique, anySourceOptIn } = setting.list;
    parts.push(`${minItems ? `at least ${minItems}, ` : ''}each ${shapes.join(' and ')}`, ...exclusions);
    if (unique) parts.push('no duplicates');
    if (anySourceOptIn) parts.push(`covering 2^25 addresses or more needs \`${anySourceOptIn.prop}\``);
  } else {
    parts.push(...shapes, ...exclusions);
  }
  return parts.join('; ') || (setting.type === 'bool' ? 'true or false' : setting.type);
}

/** True when a concrete value satisfies a rule (the construct's reading). */
export function ruleAccepts(rule: ValueRule, value: unknown): boolean {
  switch (rule.kind) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= rule.min && value <= rule.max;
    case 'oneOf':
      return typeof value === 'string' && rule.values.includes(value);
    case 'pattern':
      return typeof value === 'string' && new RegExp(rule.pattern).test(value);
    case 'notPattern':
      return typeof value === 'string' && !new RegExp(rule.pattern).test(value);
    case 'ipv4':
      return typeof value === 'string' && parseIpv4(value) !== undefined;
    case 'cidr':
      try {
        parseCidr(String(value), '');
        return typeof value === 'string';
      } catch {
        return false;
      }
  }
}

const shown = (value: unknown) => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value));

/** Throws the rule's message for one concrete value; `label` is the prop path (`routeTableIds[1]`). */
function checkValue(rules: readonly ValueRule[], value: unknown, label: string, what = ''): void {
  if (isToken(value)) return;
  for (const rule of rules) {
    if (rule.kind === 'cidr') {
      parseCidr(String(value), label); // its messages say what is wrong (host bits: which block was meant)
    } else if (!ruleAccepts(rule, value)) {
      const verdict = rule.kind === 'notPattern' ? `must not ${rule.shape}` : `must be ${ruleShape(rule)}`;
      throw new Error(`'${label}'${what} ${verdict}, got ${shown(value)}`);
    }
  }
}

export interface CheckOptions {
  /** Where the value sits, for messages; default: the setting's prop. */
  readonly label?: string;
  /** How list items are named in messages; default `<label>[i]`. */
  readonly itemLabel?: (index: number) => string;
  /** The value of the list's any-source opt-in. */
  readonly anySourceAllowed?: boolean;
}

/**
 * Checks a concrete value at synth and throws a message naming the prop. Undefined values
 * (defaults apply) and Terraform tokens (checked by Terraform later) pass, as do token items of
 * a concrete list.
 */
export function checkSetting(setting: Setting, value: unknown, options: CheckOptions = {}): void {
  const label = options.label ?? setting.prop;
  if (value === undefined || isToken(value)) return;
  if (setting.map) {
    const keys = Object.keys(value as Record<string, unknown>);
    const total = new Set([...keys, ...setting.map.addedKeys]).size;
    if (total > setting.map.maxKeys) {
      throw new Error(
        `'${label}' has ${keys.length} keys; with ${setting.map.addedKeys.map(single).join(', ')} that we add that is ${total}, over AWS's limit of ${setting.map.maxKeys} per resource`,
      );
    }
    keys.forEach((key) => checkValue(setting.rules, key, label, ` key ${shown(key)}`));
    return;
  }
  if (!setting.list) {
    checkValue(setting.rules, value, label);
    return;
  }
  const items = value as unknown[];
  const { minItems = 0, unique, anySourceOptIn } = setting.list;
  if (items.length < minItems)
    throw new Error(`'${label}' must contain at least ${minItems === 1 ? 'one element' : `${minItems} elements`}`);
  items.forEach((item, i) => checkValue(setting.rules, item, options.itemLabel?.(i) ?? `${label}[${i}]`));
  if (unique) {
    const duplicate = items.find((item, i) => !isToken(item) && items.indexOf(item) !== i);
    if (duplicate !== undefined) throw new Error(`'${label}' lists ${duplicate} more than once`);
  }
  if (anySourceOptIn && !options.anySourceAllowed) {
    const blocks = items.filter((item) => !isToken(item)).map((item) => parseCidr(item as string, label));
    requireNoAnySource(blocks, label, anySourceOptIn);
  }
}

function requireNoAnySource(blocks: Ipv4Cidr[], label: string, optIn: AnySourceOptIn): void {
  const covered = addressesCovered(blocks);
  if (covered >= ANY_SOURCE_ADDRESSES) {
    const whole = covered === 2 ** 32 ? 'the whole internet' : `${(covered / 2 ** 32) * 100}% of all IPv4 addresses`;
    throw new Error(
      `'${label}' (${blocks.map((block) => block.text).join(', ')}) covers ${covered} addresses, ${whole}: ` +
        `that would open ${optIn.reach} to the internet; set '${optIn.prop}: true' if you mean it`,
    );
  }
}

/** A condition in Terraform's words (no `${}` around it) and the message when it is false. */
export interface TerraformCondition {
  readonly condition: string;
  readonly message: string;
}

const hclString = (text: string) => JSON.stringify(text);

/** The Terraform expression that is true when the value `x` satisfies a rule. */
export function ruleCondition(rule: ValueRule, x: string): string {
  switch (rule.kind) {
    case 'integer':
      return `${x} == floor(${x}) && ${x} >= ${rule.min} && ${x} <= ${rule.max}`;
    case 'oneOf':
      return `contains([${rule.values.map(hclString).join(', ')}], ${x})`;
    case 'pattern':
      return `can(regex(${hclString(rule.pattern)}, ${x}))`;
    case 'notPattern':
      return `!can(regex(${hclString(rule.pattern)}, ${x}))`;
    case 'ipv4':
      return `can(regex(${hclString(`^${OCTET}([.]${OCTET}){3}$`)}, ${x}))`;
    case 'cidr':
      // cidrsubnet(c, 0, 0) is c with its host bits cleared: equal only for a clean block.
      return `can(regex("^[0-9]+([.][0-9]+){3}/[0-9]+$", ${x})) && try(cidrsubnet(${x}, 0, 0) == ${x}, false)`;
  }
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';

/**
 * The number of addresses a list of CIDR blocks covers, overlaps counted once (as
 * `addressesCovered`): the sum of the distinct blocks that no other block contains.
 */
export function addressesCoveredExpression(list: string): string {
  const blocks = `distinct([for c in ${list} : cidrsubnet(c, 0, 0)])`;
  const prefix = (block: string) => `tonumber(split("/", ${block})[1])`;
  const contains = (outer: string, inner: string) =>
    `${prefix(outer)} <= ${prefix(inner)} && cidrsubnet(format("%s/%d", split("/", ${inner})[0], ${prefix(outer)}), 0, 0) == ${outer}`;
  return `sum(concat([0], [for i, a in ${blocks} : pow(2, 32 - ${prefix('a')}) if !anytrue([for j, b in ${blocks} : j != i && ${contains('b', 'a')}])]))`;
}

/** True when the list covers fewer than `ANY_SOURCE_ADDRESSES`, or the opt-in is set. Malformed lists are left to their own rule. */
export function anySourceCondition(list: string, optIn: string): string {
  return `${optIn} || try(${addressesCoveredExpression(list)} < ${ANY_SOURCE_ADDRESSES}, true)`;
}

export function anySourceMessage(label: string, optIn: AnySourceOptIn): string {
  return `${label} covers 2^25 addresses or more (0.0.0.0/0, or the internet in parts such as 0.0.0.0/1 and 128.0.0.0/1): that would open ${optIn.reach} to the internet; set ${optIn.variable} = true if you mean it.`;
}

/**
 * The Terraform conditions of a setting for the value expression `x` (`var.route_table_ids`,
 * `f.allowed_cidrs`), each with its message naming `label` (the variable). The any-source rule is
 * included when `optIn` gives the expression of the opt-in (it may name another variable: then it
 * belongs in a precondition, since variable validations see only their own variable before Terraform 1.9).
 */
export function conditionsOf(setting: Setting, x: string, label: string, optIn?: string): TerraformCondition[] {
  const each = (rule: ValueRule) => (rule.kind === 'notPattern' ? `must not ${rule.shape}` : `must be ${ruleShape(rule, double)}`);
  if (setting.map) {
    return [
      {
        condition: `length(merge(${x}, {${setting.map.addedKeys.map((key) => `${key} = ""`).join(', ')}})) <= ${setting.map.maxKeys}`,
        message: `${label} may hold at most ${setting.map.maxKeys} tags counting the ${setting.map.addedKeys.map(double).join(', ')} tag we add (AWS's limit per resource).`,
      },
      ...setting.rules.map((rule) => ({
        condition: `alltrue([for v in keys(${x}) : ${ruleCondition(rule, 'v')}])`,
        message: `${label}: every key ${each(rule)}.`,
      })),
    ];
  }
  if (!setting.list) return setting.rules.map((rule) => ({ condition: ruleCondition(rule, x), message: `${label} ${each(rule)}.` }));
  const { minItems, unique, anySourceOptIn } = setting.list;
  const conditions: TerraformCondition[] = [];
  if (minItems)
    conditions.push({
      condition: `length(${x}) >= ${minItems}`,
      message: `${label} must hold at least ${minItems === 1 ? 'one entry' : `${minItems} entries`}.`,
    });
  for (const rule of setting.rules) {
    conditions.push({
      condition: `alltrue([for v in ${x} : ${ruleCondition(rule, 'v')}])`,
      message: `${label}: every entry ${each(rule)}.`,
    });
  }
  if (unique) conditions.push({ condition: `length(distinct(${x})) == length(${x})`, message: `${label} may list each entry only once.` });
  if (anySourceOptIn && optIn !== undefined)
    conditions.push({ condition: anySourceCondition(x, optIn), message: anySourceMessage(label, anySourceOptIn) });
  return conditions;
}
