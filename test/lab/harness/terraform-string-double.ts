import { createHash } from 'crypto';

/**
 * A TEST DOUBLE of Terraform's string-template evaluation (no Terraform provider can be
 * downloaded here). It evaluates a string attribute of the synthesized JSON the way
 * Terraform would for the subset the constructs emit, and fails where Terraform fails:
 *
 * - `$${` becomes `${` and `%%{` becomes `%{` (escapes);
 * - `${<type>.<name>.<attr>}` becomes a sample value (`rtb-…` for route tables, …) or a given one;
 * - `${join("<sep>", [<refs>])}` joins sample values;
 * - anything else inside `${…}` (a shell `${VAR}` that escaped the escaping) and every `%{…}`
 *   directive throws, like `terraform plan` would with "Invalid reference" / an unknown directive.
 */
export function evaluateTerraformString(text: string, values: Record<string, string> = {}): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
    } else if (text.startsWith('%%{', i)) {
      out += '%{';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const end = closingBrace(text, i + 2);
      out += evaluateExpression(text.slice(i + 2, end).trim(), values);
      i = end + 1;
    } else if (text.startsWith('%{', i)) {
      throw new Error(`Terraform would read a template directive here: '${excerpt(text, i)}' (escape it as %%{)`);
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

/** The sample value the double gives a reference such as `aws_route_table.private_a.id`. */
export function sampleValue(reference: string): string {
  const hex = createHash('sha256').update(reference).digest('hex').slice(0, 17);
  const [type] = reference.split('.');
  const prefixes: Record<string, string> = {
    aws_route_table: 'rtb',
    aws_subnet: 'subnet',
    aws_vpc: 'vpc',
    aws_network_interface: 'eni',
    aws_security_group: 'sg',
    aws_instance: 'i',
    aws_eip: 'eipalloc',
  };
  return `${prefixes[type] ?? type.replace(/_/g, '-')}-${hex}`;
}

const REFERENCE = /^(aws_[a-z0-9_]+|data\.aws_[a-z0-9_]+)\.[A-Za-z0-9_-]+\.[A-Za-z0-9_]+$/;

function evaluateExpression(expression: string, values: Record<string, string>): string {
  if (REFERENCE.test(expression)) return values[expression] ?? sampleValue(expression);
  const join = /^join\(\s*"([^"]*)"\s*,\s*\[([^\]]*)\]\s*\)$/.exec(expression);
  if (join) {
    const items = join[2]
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
    return items.map((item) => evaluateExpression(item, values)).join(join[1]);
  }
  throw new Error(
    `Terraform would reject the interpolation '\${${expression}}': not a resource reference (escape shell expansions as $\${…})`,
  );
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '{') depth += 1;
    if (text[i] === '}' && --depth === 0) return i;
  }
  throw new Error(`Terraform would reject an unterminated interpolation: '${excerpt(text, from - 2)}'`);
}

function excerpt(text: string, at: number): string {
  return text.slice(at, at + 40).split('\n')[0];
}
