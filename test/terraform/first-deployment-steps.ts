/**
 * The first steps every applied stack of the real-Terraform suite takes, as tests in the calling
 * file (they run in its order, on its one deployment): `terraform init` installs the tested
 * provider from the mirror and `validate` finds no error; `plan` creates exactly the JSON's
 * resources and saves the plan the file's apply step then applies (applySavedPlan).
 */
import { TESTED_AWS_PROVIDER, TerraformWorkspace } from '../support/terraform';
import { initAndValidate, planFirstDeployment } from './emulated-deployment';

export function firstDeploymentSteps(deployment: () => { workspace: TerraformWorkspace; json: Record<string, any> }): void {
  test(`terraform init installs hashicorp/aws ${TESTED_AWS_PROVIDER} from the mirror, and validate finds no error`, () => {
    const { init, validate } = initAndValidate(deployment().workspace);
    expect(init).toContain(`Installed hashicorp/aws v${TESTED_AWS_PROVIDER}`);
    expect(validate).toMatchObject({ valid: true, error_count: 0 });
  });

  test('terraform plan creates every resource of the JSON and nothing else', () => {
    const plan = planFirstDeployment(deployment().workspace, deployment().json);
    expect({ code: plan.code, stderr: plan.stderr }).toEqual({ code: 2, stderr: '' });
    expect(plan.planned).toEqual(plan.managed);
    expect(plan.onlyCreates).toBe(true);
  });
}
