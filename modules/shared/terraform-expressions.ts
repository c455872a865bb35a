import { Fn, Op, ref, TerraformDataSource, TerraformResource, TerraformStack, Token } from 'cdktf';

/**
 * Expressions for values that are only known when Terraform runs (a plain-Terraform module's
 * variables): optional resources by `count`, and attribute lists of counted resources.
 */

/** `1` when the condition holds, `0` otherwise; a token condition becomes `cond ? 1 : 0`. */
export function countWhen(condition: boolean | string | unknown): number {
  if (Token.isUnresolved(condition)) return Token.asNumber(Fn.conditional(condition, 1, 0));
  return condition ? 1 : 0;
}

/** `<address>[*].<attribute>`: the attribute of every instance of a counted resource or data source. */
export function splat(target: TerraformResource | TerraformDataSource, attribute: string): string[] {
  const prefix = target instanceof TerraformDataSource ? 'data.' : '';
  return Token.asList(ref(`${prefix}${target.terraformResourceType}.${target.friendlyUniqueId}[*].${attribute}`, TerraformStack.of(target)));
}

/** The attribute of a resource with count 0 or 1, or `fallback` when it does not exist. */
export function attributeOrElse(target: TerraformResource, attribute: string, fallback: string): string {
  return Fn.coalesce([Fn.one(splat(target, attribute)), fallback]);
}

/** `value == expected` for a value that may be a token. */
export function equalsValue(value: string, expected: string): boolean {
  return Token.isUnresolved(value) ? (Token.asAny(Op.eq(value, expected)) as unknown as boolean) : value === expected;
}
