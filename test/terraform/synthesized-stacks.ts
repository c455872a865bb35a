/**
 * The stacks exactly as `cdktf synth` writes them (the same App composition as main.ts, in-process),
 * into a temporary output directory.
 */
import { App } from 'cdktf';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { NatExampleConfig, NatExampleStack } from '../../stacks/nat-example';
import { NatModuleStack } from '../../stacks/nat-module';
import { NatTestPipelineConfig, NatTestPipelineStack, natTestPipelineConfigFromEnv } from '../../stacks/nat-test-pipeline';
import { MOTO_REGION } from '../support/moto';

export interface SynthesizedStacks {
  /** `<outdir>/stacks`: one directory per stack, each holding `cdk.tf.json`. */
  readonly stacksDirectory: string;
  directory(stack: 'nat-example' | 'nat-module' | 'nat-test-pipeline'): string;
  json(stack: 'nat-example' | 'nat-module' | 'nat-test-pipeline'): Record<string, any>;
}

export interface SynthesisConfig {
  readonly example?: Partial<NatExampleConfig>;
  readonly pipeline?: Partial<NatTestPipelineConfig>;
}

/** Synthesizes every stack with the embedded defaults (region: the emulator's), overridable per stack. */
export function synthesizeStacks(config: SynthesisConfig = {}): SynthesizedStacks {
  const outdir = mkdtempSync(join(tmpdir(), 'nat-synth-'));
  const app = new App({ outdir });
  new NatExampleStack(app, 'nat-example', { region: MOTO_REGION, ...config.example });
  new NatModuleStack(app, 'nat-module');
  new NatTestPipelineStack(app, 'nat-test-pipeline', { ...natTestPipelineConfigFromEnv({}), region: MOTO_REGION, ...config.pipeline });
  app.synth();
  const directory = (stack: string) => join(outdir, 'stacks', stack);
  return {
    stacksDirectory: join(outdir, 'stacks'),
    directory,
    json: (stack) => JSON.parse(readFileSync(join(directory(stack), 'cdk.tf.json'), 'utf8')) as Record<string, any>,
  };
}
