import { Fn, Token } from 'cdktf';

/** `tags` plus a `Name` tag; through Terraform's `merge` when `tags` is a token (a module variable). */
export function tagsWithName(tags: Record<string, string>, name: string): Record<string, string> {
  return Token.isUnresolved(tags) ? (Fn.merge([tags, { Name: name }]) as unknown as Record<string, string>) : { ...tags, Name: name };
}
