/** Small helpers for walking Terraform JSON (`cdk.tf.json`). */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** cdktf's own metadata key (`"//"`), ignored by Terraform. */
export const METADATA_KEY = '//';

/** A Terraform JSON block may be given as one object or a list of objects. */
export function blockBodies(value: JsonValue): JsonValue[] {
  return Array.isArray(value) ? value : [value];
}

/** True when a string holds a Terraform interpolation or directive (unescaped). */
export function hasTemplateSequence(text: string): boolean {
  return /(^|[^$])\$\{|(^|[^%])%\{/.test(text);
}

export function joinPath(parent: string, child: string | number): string {
  if (typeof child === 'number') return `${parent}[${child}]`;
  return parent ? `${parent}.${child}` : child;
}
