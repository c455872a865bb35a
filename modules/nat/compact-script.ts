/**
 * A bash script made smaller for EC2's 16 KB of user data, with the same meaning: comment-only
 * lines, blank lines and leading indentation go, except inside a here-document or a quoted string
 * that spans lines (an awk program), which stay byte for byte. The shebang and `# shellcheck`
 * directives stay. The commented sources are in modules/nat/boot; a unit test checks with
 * shfmt's parser that each shipped script means the same as its source.
 *
 * The scanner knows what our scripts use: '…', "…", $'…', backslash escapes, `#` comments and
 * `<<WORD` / `<<'WORD'` / `<<-WORD` here-documents (an arithmetic shift such as `1 << 24` is not
 * one: a here-document's word starts with a letter, `_` or a quote).
 */
export function compactScript(script: string): string {
  const kept: string[] = [];
  let quote: "'" | '"' | "$'" | undefined;
  let hereDocument: { word: string; tabs: boolean } | undefined;
  const pendingHereDocuments: Array<{ word: string; tabs: boolean }> = [];

  script.split('\n').forEach((line, index) => {
    if (hereDocument) {
      kept.push(line);
      if ((hereDocument.tabs ? line.replace(/^\t+/, '') : line) === hereDocument.word) hereDocument = pendingHereDocuments.shift();
    } else if (quote !== undefined) {
      kept.push(line);
      quote = scanLine(line, quote, pendingHereDocuments);
    } else {
      const code = line.trimStart();
      if (index === 0 && code.startsWith('#!')) kept.push(line);
      else if (code === '' || (code.startsWith('#') && !code.startsWith('# shellcheck '))) return;
      else kept.push(code);
      quote = scanLine(code, quote, pendingHereDocuments);
    }
    if (quote === undefined && !hereDocument) hereDocument = pendingHereDocuments.shift();
  });
  return kept.join('\n') + (script.endsWith('\n') ? '\n' : '');
}

/** Follows quotes through one line; returns the quote still open at its end, and collects here-documents opened in code. */
function scanLine(line: string, open: "'" | '"' | "$'" | undefined, hereDocuments: Array<{ word: string; tabs: boolean }>) {
  let quote = open;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (quote === '"' || quote === "$'") {
      if (c === '\\') i++;
      else if ((quote === '"' && c === '"') || (quote === "$'" && c === "'")) quote = undefined;
    } else if (c === '\\') {
      i++;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      break; // a comment to the end of the line
    } else if (c === "'") {
      quote = "'";
    } else if (c === '"') {
      quote = '"';
    } else if (c === '$' && line[i + 1] === "'") {
      quote = "$'";
      i++;
    } else if (c === '<' && line.startsWith('<<<', i)) {
      i += 2; // a here-string
    } else if (c === '<' && line[i + 1] === '<') {
      const match = /^<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/.exec(line.slice(i));
      if (match) {
        hereDocuments.push({ word: match[3], tabs: match[1] === '-' });
        i += match[0].length - 1;
      } else {
        i++;
      }
    }
  }
  return quote;
}
