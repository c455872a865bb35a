/**
 * Evaluates a Terraform template string the way Terraform would for the purpose of checking what
 * reaches the instance: `$${` becomes `${`, `%%{` becomes `%{`, and every interpolation is replaced
 * by a sample string derived from its expression (`${aws_route_table.a.id}` -> `sample-aws_route_table.a.id`).
 * Directive markers (`%{ if … }`, `%{ endif }`) are dropped, so both branches' text is kept: the
 * checks downstream see every line a user could receive. Call only on strings that parsed.
 */
export function renderTemplateWithSamples(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i) || text.startsWith('%%{', i)) {
      out += text[i + 1] + '{';
      i += 3;
    } else if (text.startsWith('${', i) || text.startsWith('%{', i)) {
      const end = endOfSequence(text, i + 2);
      if (text[i] === '$') out += sampleFor(text.slice(i + 2, end - 1));
      i = end;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

/** Index just past the `}` closing a sequence whose body starts at `start` (skips quoted strings). */
function endOfSequence(text: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < text.length && depth > 0) {
    const c = text[i];
    if (c === '"') {
      i = endOfQuoted(text, i + 1);
      continue;
    }
    if (c === '{') depth += 1;
    if (c === '}') depth -= 1;
    i += 1;
  }
  return i;
}

function endOfQuoted(text: string, start: number): number {
  let i = start;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function sampleFor(expression: string): string {
  const cleaned = expression.trim().replace(/^~|~$/g, '').trim();
  return `sample-${cleaned.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80)}`;
}
