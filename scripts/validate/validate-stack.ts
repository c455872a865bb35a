import { collectDeclarations, countBlocks } from './declarations';
import { checkStackExpressions } from './expressions';
import { Finding, FindingSink } from './finding';
import { checkStackSchema } from './schema-check';
import { JsonValue } from './terraform-json';
import { checkStackUserData } from './user-data-check';

export interface StackReport {
  readonly stack: string;
  /** Resource and data blocks checked. */
  readonly blocks: number;
  readonly findings: Finding[];
}

/** Runs all three checks (schema, expressions, user data) on one synthesized stack. */
export async function validateStack(stack: string, doc: JsonValue): Promise<StackReport> {
  const sink = new FindingSink(stack);
  checkStackSchema(doc, sink);
  await checkStackExpressions(doc, collectDeclarations(doc), sink);
  checkStackUserData(doc, sink);
  return { stack, blocks: countBlocks(doc), findings: sink.findings };
}
