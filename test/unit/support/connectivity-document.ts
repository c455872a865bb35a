/**
 * Test support: the TestInternetConnectivity document exactly as the synthesized nat-test-pipeline
 * stack hands it to Terraform, read back the way Terraform and SSM would read it.
 */
import { Testing } from 'cdktf';
import { NatTestPipelineStack, natTestPipelineConfigFromEnv } from '../../../stacks/nat-test-pipeline';

export interface SsmParameter {
  readonly type: string;
  readonly default: string;
  readonly allowedPattern: string;
  readonly interpolationType?: string;
}

export interface SynthesizedDocument {
  /** The resource block (name, document_type, content, …). */
  readonly resource: Record<string, any>;
  /** The content after Terraform's template evaluation, parsed as SSM parses it. */
  readonly content: {
    schemaVersion: string;
    parameters: Record<string, SsmParameter>;
    mainSteps: Array<{ action: string; name: string; inputs: { runCommand: string[]; timeoutSeconds?: string } }>;
  };
  /** What aws:runShellScript writes to its script file: the commands joined by newlines. */
  readonly script: string;
}

/**
 * Terraform's reading of a literal string: `$${` and `%%{` are escapes, any other `${` or `%{`
 * is a template expression. Throws on an expression, since the document must stay literal.
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\$\{|%%\{|\$\{|%\{/g, (match, offset: number) => {
    if (match === '$${') return '${';
    if (match === '%%{') return '%{';
    throw new Error(`unescaped Terraform template '${match}' at ${offset}: ${text.slice(offset, offset + 40)}`);
  });
}

/** Synthesizes the pipeline stack with its defaults (no AWS credentials needed) and extracts the document. */
export function synthesizedConnectivityDocument(): SynthesizedDocument {
  const stack = new NatTestPipelineStack(Testing.app(), 'nat-test-pipeline', natTestPipelineConfigFromEnv({}));
  const json = JSON.parse(Testing.synth(stack, true));
  const documents = Object.values(json.resource?.aws_ssm_document ?? {}) as Record<string, any>[];
  if (documents.length !== 1) throw new Error(`expected one aws_ssm_document, found ${documents.length}`);
  const resource = documents[0];
  const content = JSON.parse(terraformLiteral(resource.content));
  return { resource, content, script: content.mainSteps[0].inputs.runCommand.join('\n') };
}

/** SSM's check of a SendCommand parameter value against the document's allowedPattern. */
export function ssmAccepts(parameter: SsmParameter, value: string): boolean {
  return new RegExp(parameter.allowedPattern).test(value);
}
