import { TerraformStack } from 'cdktf';

/**
 * The AWS provider versions every synthesized stack accepts: tested with the real provider 5.100.0
 * (apply and destroy against an emulated API) and against the 6.25 schema of the bindings.
 * `aws_eip.domain`, which we set, exists from 5.0.
 */
export const AWS_PROVIDER_CONSTRAINT = '>= 5.0, < 7.0';

/** Terraform versions: `optional()` attributes with defaults in module variables need 1.3. */
export const TERRAFORM_VERSION_CONSTRAINT = '>= 1.3';

/** Terraform versions for a stack with `check` blocks (the nat-module's dual-mode warning). */
export const CHECK_BLOCK_TERRAFORM_VERSION = '>= 1.5';

/**
 * Widens the provider requirement cdktf writes (the bindings' exact version, 6.25.0) to the
 * versions we test, so users on provider 5.x can apply the JSON too.
 */
export function requireSupportedVersions(stack: TerraformStack): void {
  stack.addOverride('terraform.required_version', TERRAFORM_VERSION_CONSTRAINT);
  stack.addOverride('terraform.required_providers.aws', { source: 'hashicorp/aws', version: AWS_PROVIDER_CONSTRAINT });
}
