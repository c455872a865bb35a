/**
 * Test support: the TestInternetConnectivity document exactly as the synthesized nat-test-pipeline
 * stack hands it to Terraform, evaluated by the real `terraform console` (so `$${` escapes are
 * undone exactly as on apply, and a stray `${` fails), then parsed as SSM parses it.
 */
import { Testing } from 'cdktf';
import { NatTestPipelineStack, natTestPipelineConfigFromEnv } from '../../../stacks/nat-test-pipeline';
import { evaluateTerraformString } from './terraform-console';

export interface SsmParameter {
  readonly type: string;
  readonly default: string;
  readonly allowedPattern: string;
  readonly interpolationType?: string;
}

export interface SynthesizedDocument {
  /** The resource block (name, document_type, content, …). */
  readonly resource: Record<string, any>;
  /** The content as Terraform sends it to SSM (template evaluated), parsed as SSM parses it. */
  readonly content: {
    schemaVersion: string;
    parameters: Record<string, SsmParameter>;
    mainSteps: Array<{ action: string; name: string; inputs: { runCommand: string[]; timeoutSeconds?: string } }>;
  };
  /** What aws:runShellScript writes to its script file: the commands joined by newlines. */
  readonly script: string;
}

/** Synthesizes the pipeline stack with its defaults (no AWS credentials needed) and extracts the document. */
export function synthesizedConnectivityDocument(): SynthesizedDocument {
  const stack = new NatTestPipelineStack(Testing.app(), 'nat-test-pipeline', natTestPipelineConfigFromEnv({}));
  const json = JSON.parse(Testing.synth(stack, true));
  const documents = Object.values(json.resource?.aws_ssm_document ?? {}) as Record<string, any>[];
  if (documents.length !== 1) throw new Error(`expected one aws_ssm_document, found ${documents.length}`);
  const resource = documents[0];
  const content = JSON.parse(evaluateTerraformString(resource.content));
  return { resource, content, script: content.mainSteps[0].inputs.runCommand.join('\n') };
}

/** SSM's check of a SendCommand parameter value against the document's allowedPattern. */
export function ssmAccepts(parameter: SsmParameter, value: string): boolean {
  return new RegExp(parameter.allowedPattern).test(value);
}
