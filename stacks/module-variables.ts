import { Construct } from 'constructs';
import { TerraformVariable, TerraformVariableValidationConfig } from 'cdktf';
import { conditionsOf, Setting } from '../modules/shared/setting-rules';

/**
 * Module variables made from settings-table entries (`modules/nat/nat-settings.ts`): the type,
 * default and description, and one `validation` block per rule, so the module refuses at plan
 * what the construct refuses at synth, with messages naming the variable.
 */

/** In `.tf.json` a condition is a template: the expression goes inside `${…}`. */
const asTemplate = (expression: string) => `\${${expression}}`;

/** A variable for `setting` (which must name one), with its validation blocks. */
export function variableOf(scope: Construct, setting: Setting, description = setting.summary): TerraformVariable {
  const name = setting.variable;
  if (!name) throw new Error(`the setting '${setting.prop}' has no module variable`);
  return new TerraformVariable(scope, name, {
    type: setting.type,
    default: setting.default,
    description,
    validation: conditionsOf(setting, `var.${name}`, name).map(({ condition, message }): TerraformVariableValidationConfig => ({
      condition: asTemplate(condition),
      errorMessage: message,
    })),
  });
}

/**
 * A variable for a setting whose default the construct computes from other props: optional, null
 * when unset (the stack computes the default), validated only when given.
 */
export function nullableVariableOf(scope: Construct, setting: Setting, description = setting.summary): TerraformVariable {
  const name = setting.variable;
  if (!name) throw new Error(`the setting '${setting.prop}' has no module variable`);
  const variable = new TerraformVariable(scope, name, {
    type: setting.type,
    nullable: true,
    description,
    validation: conditionsOf(setting, `var.${name}`, name).map(
      // A conditional evaluates only the branch it takes: the rule never sees null.
      ({ condition, message }): TerraformVariableValidationConfig => ({
        condition: asTemplate(`var.${name} == null ? true : ${condition}`),
        errorMessage: message,
      }),
    ),
  });
  // cdktf cannot write `default = null` itself.
  variable.addOverride('default', null);
  return variable;
}

/** The Terraform type of a list of objects with one attribute per setting; a setting with a default is optional. */
export function objectListType(attributes: readonly Setting[]): string {
  const width = Math.max(...attributes.map((attribute) => attribute.variable!.length));
  const lines = attributes.map((attribute) => {
    const type = attribute.default === undefined ? attribute.type : `optional(${attribute.type}, ${JSON.stringify(attribute.default)})`;
    return `    ${attribute.variable!.padEnd(width)} = ${type}`;
  });
  return `list(object({\n${lines.join('\n')}\n  }))`;
}

/**
 * Validation blocks of a list of objects: every rule of every attribute, for each element `f`.
 * `optIns` maps an attribute to the attribute that lets it cover the internet (`allowed_cidrs` →
 * `allow_any_source`).
 */
export function objectListValidations(
  variable: string,
  attributes: readonly Setting[],
  optIns: Record<string, string> = {},
): TerraformVariableValidationConfig[] {
  return attributes.flatMap((attribute) =>
    conditionsOf(
      attribute,
      `f.${attribute.variable}`,
      `${variable}: ${attribute.variable}`,
      optIns[attribute.variable!] && `f.${optIns[attribute.variable!]}`,
    ).map(({ condition, message }) => ({
      condition: asTemplate(`alltrue([for f in var.${variable} : ${condition}])`),
      errorMessage: message,
    })),
  );
}
