/**
 * Test support for the unit suite: synthesize a stack the way `cdktf synth` does (validations
 * included) and read resources back out of the Terraform JSON.
 */
import { AnnotationMetadataEntryType, TerraformOutput, TerraformStack, Testing } from 'cdktf';
import type { IConstruct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';

/** One resource or data-source block of the synthesized JSON (Terraform argument names). */
export type TfBlock = Record<string, any>;

export interface Synthesized<T> {
  /** The stack, for assertions on construct attributes and metadata. */
  readonly stack: TerraformStack;
  /** What the build callback returned (the constructs under test). */
  readonly built: T;
  /** The whole `cdk.tf.json` document. */
  readonly json: Record<string, any>;
  /** Resources of one type by logical name; empty when there are none. */
  resources(type: string): Record<string, TfBlock>;
  /** Data sources of one type by logical name; empty when there are none. */
  dataSources(type: string): Record<string, TfBlock>;
  /** The only resource of a type (fails the test when there are none or several), with its name. */
  only(type: string): { name: string; block: TfBlock };
  /** The Terraform reference to a resource attribute, as it appears in the JSON: `${type.name.attr}`. */
  ref(type: string, name: string, attribute: string): string;
  /** The values `expose` picked, as they appear in the JSON (tokens become `${aws_subnet.x.id}`). */
  readonly exposed: Record<string, any>;
}

const EXPOSE_PREFIX = 'exposed_';

/**
 * GIVEN a fresh stack with an AWS provider (cdktf's validations require one), builds what
 * `build` adds to it and synthesizes it with validations on (plain `Testing.synth` skips
 * `node.addValidation` checks).
 * @param expose construct attributes to read back resolved (through stack outputs named `exposed_*`)
 */
export function synthesize<T>(
  build: (stack: TerraformStack) => T,
  expose: (built: T) => Record<string, unknown> = () => ({}),
): Synthesized<T> {
  const stack = new TerraformStack(Testing.app(), 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  const built = build(stack);
  const exposedValues = expose(built);
  for (const [key, value] of Object.entries(exposedValues)) {
    new TerraformOutput(stack, `${EXPOSE_PREFIX}${key}`, { value });
  }
  return inspect(stack, built, Object.keys(exposedValues));
}

/** Synthesizes a complete stack (one that brings its own provider) with validations on. */
export function synthesizeStack<S extends TerraformStack>(stack: S): Synthesized<S> {
  return inspect(stack, stack, []);
}

function inspect<T>(stack: TerraformStack, built: T, exposedKeys: string[]): Synthesized<T> {
  const json = JSON.parse(Testing.synth(stack, true)) as Record<string, any>;
  return {
    stack,
    built,
    json,
    resources: (type) => json.resource?.[type] ?? {},
    dataSources: (type) => json.data?.[type] ?? {},
    only(type) {
      const entries = Object.entries(json.resource?.[type] ?? {});
      if (entries.length !== 1) {
        throw new Error(`expected exactly one ${type}, found ${entries.length}: ${entries.map(([name]) => name).join(', ')}`);
      }
      const [name, block] = entries[0];
      return { name, block: block as TfBlock };
    },
    ref: (type, name, attribute) => `\${${type}.${name}.${attribute}}`,
    exposed: Object.fromEntries(exposedKeys.map((key) => [key, json.output[`${EXPOSE_PREFIX}${key}`].value])),
  };
}

/** Builds and synthesizes, expecting a failure; returns its message (fails the test when nothing throws). */
export function synthError(build: (stack: TerraformStack) => unknown): string {
  try {
    synthesize(build);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the synth to fail, but it succeeded');
}

/** Warning annotations on a construct and everything below it. */
export function warningsOf(scope: IConstruct): string[] {
  return scope.node
    .findAll()
    .flatMap((construct) => construct.node.metadata)
    .filter((entry) => entry.type === AnnotationMetadataEntryType.WARN)
    .map((entry) => String(entry.data));
}
