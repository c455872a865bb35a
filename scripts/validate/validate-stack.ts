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
  // The expression parser runs in-process (WebAssembly), the user-data tools in child processes: overlap them.
  const expressionSink = new FindingSink(stack);
  const userDataSink = new FindingSink(stack);
  await Promise.all([checkStackExpressions(doc, collectDeclarations(doc), expressionSink), checkStackUserData(doc, userDataSink)]);
  return { stack, blocks: countBlocks(doc), findings: [...sink.findings, ...expressionSink.findings, ...userDataSink.findings] };
}
