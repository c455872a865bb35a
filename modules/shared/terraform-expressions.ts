import {
  Fn,
  FOR_EXPRESSION_VALUE,
  forExpression,
  IResolvable,
  Op,
  propertyAccess,
  ref,
  TerraformDataSource,
  TerraformResource,
  TerraformStack,
  Token,
} from 'cdktf';

/**
 * Terraform expressions in synthesized strings: values only known when Terraform runs (a
 * plain-Terraform module's variables: optional resources by `count`, attribute lists of counted
 * resources), and the escaping of text that must reach its destination verbatim.
 */

/** `1` when the condition holds, `0` otherwise; a token condition becomes `cond ? 1 : 0`. */
export function countWhen(condition: boolean | string | unknown): number {
  if (Token.isUnresolved(condition)) return Token.asNumber(Fn.conditional(condition, 1, 0));
  return condition ? 1 : 0;
}

/** `<address>[*].<attribute>`: the attribute of every instance of a counted resource or data source. */
export function splat(target: TerraformResource | TerraformDataSource, attribute: string): string[] {
  const prefix = target instanceof TerraformDataSource ? 'data.' : '';
  return Token.asList(
    ref(`${prefix}${target.terraformResourceType}.${target.friendlyUniqueId}[*].${attribute}`, TerraformStack.of(target)),
  );
}

/** The attribute of a resource with count 0 or 1, or `fallback` when it does not exist. */
export function attributeOrElse(target: TerraformResource, attribute: string, fallback: string): string {
  return Fn.coalesce([Fn.one(splat(target, attribute)), fallback]);
}

type TerraformExpression = Parameters<typeof forExpression>[1];

/**
 * `[for key, val in <list> : <expression>]`, in the list's order (cdktf's list iterators wrap the
 * list in `toset`, which reorders and deduplicates). `build` receives the accessor of an
 * attribute of the current element.
 */
export function mapList(list: unknown, build: (attribute: (name: string) => IResolvable) => TerraformExpression): IResolvable {
  return forExpression(
    list as TerraformExpression,
    build((name) => propertyAccess(FOR_EXPRESSION_VALUE, [name])),
  );
}

/** `value == expected` for a value that may be a token. */
export function equalsValue(value: string, expected: string): boolean {
  return Token.isUnresolved(value) ? (Token.asAny(Op.eq(value, expected)) as unknown as boolean) : value === expected;
}

/**
 * Terraform evaluates `${…}` and `%{…}` in every string it is given. Text that must reach
 * the instance verbatim (the shell script) is escaped so Terraform turns `$${` back into `${`.
 */
export function escapeForTerraform(text: string): string {
  // Replacer functions: in a replacement string `$$` would collapse to a single `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}
