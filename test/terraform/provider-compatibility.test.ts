/**
 * GIVEN every synthesized stack, byte for byte
 * WHEN the real Terraform CLI initializes and validates it with the real AWS provider 5.x
 * THEN the JSON is valid for that provider (attributes both 5.x and 6.x have; a constraint that admits 5.x).
 */
import { synthesizeStacks } from './synthesized-stacks';
import { TESTED_AWS_PROVIDER, TerraformWorkspace, terraformVersion } from '../support/terraform';

jest.setTimeout(300_000);

const stacks = synthesizeStacks();
const workspaces: TerraformWorkspace[] = [];
afterAll(() => workspaces.forEach((workspace) => workspace.remove()));

test('terraform runs', () => {
  expect(terraformVersion()).toMatch(/^Terraform v1\./);
});

test.each(['nat-example', 'nat-module', 'nat-test-pipeline'] as const)(
  `GIVEN %s WHEN terraform init and validate run with hashicorp/aws ${TESTED_AWS_PROVIDER} THEN it is valid`,
  (stack) => {
    const workspace = new TerraformWorkspace(stack).copyFrom(stacks.directory(stack));
    workspaces.push(workspace);
    const init = workspace.init();
    expect(init.stdout).toContain(`Installed hashicorp/aws v${TESTED_AWS_PROVIDER}`);
    const validate = workspace.run(['validate', '-json'], { check: false });
    const result = JSON.parse(validate.stdout) as {
      valid: boolean;
      diagnostics: Array<{ severity: string; summary: string; detail: string }>;
    };
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.valid).toBe(true);
  },
);
