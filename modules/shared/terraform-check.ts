import { Construct } from 'constructs';
import { TerraformElement } from 'cdktf';

export interface TerraformCheckProps {
  /** A Terraform expression (no `${}` around it) that should be true. */
  readonly condition: string;
  /** The warning Terraform prints when it is false; may hold `${…}` interpolations. */
  readonly errorMessage: string;
}

/**
 * A top-level `check` block (Terraform 1.5+) with one `assert`: when the condition is false,
 * `terraform plan` and `apply` print a warning and go on
 * (https://developer.hashicorp.com/terraform/language/checks). cdktf has no construct for it; this
 * element writes the block into the stack's JSON (the JSON output only, which is what we synthesize).
 */
export class TerraformCheck extends TerraformElement {
  constructor(
    scope: Construct,
    id: string,
    private readonly props: TerraformCheckProps,
  ) {
    super(scope, id);
  }

  public toTerraform(): Record<string, unknown> {
    return {
      check: {
        [this.friendlyUniqueId]: { assert: [{ condition: `\${${this.props.condition}}`, error_message: this.props.errorMessage }] },
      },
    };
  }
}
