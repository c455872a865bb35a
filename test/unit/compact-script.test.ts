/**
 * compactScript: what a NAT group's user data ships (the scripts without comments, blank lines and
 * indentation) must mean what the commented sources mean. shfmt's parser is the judge.
 */
import { spawnSync } from 'child_process';
import { compactScript } from '../../modules/nat/compact-script';
import { readBootScript } from '../../modules/nat/user-data';
import { readHealthAgentScript } from '../../modules/nat/health-agent';
import { readMetricsScript } from '../../modules/nat/metrics-settings';

/** shfmt's minified form: the same text for two scripts only when its parser reads them alike. */
function minified(script: string): string {
  const result = spawnSync('shfmt', ['-mn'], { input: script, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`shfmt -mn failed: ${result.stderr}`);
  return result.stdout;
}

function requireShfmt(): void {
  if (spawnSync('shfmt', ['--version']).status !== 0) {
    throw new Error('shfmt is not installed: run scripts/install-test-host.sh (Debian package shfmt); CI installs it');
  }
}

test('the shipped scripts mean what their sources mean (shfmt parses both alike), are shellcheck-clean, and are smaller', () => {
  requireShfmt();
  for (const script of [readBootScript(), readHealthAgentScript(), readMetricsScript()]) {
    const shipped = compactScript(script);
    expect(shipped.length).toBeLessThan(script.length * 0.8);
    expect(minified(shipped)).toEqual(minified(script));
    const check = spawnSync('shellcheck', ['-'], { input: shipped, encoding: 'utf8' });
    expect({ code: check.status, output: check.stdout }).toEqual({ code: 0, output: '' });
  }
});

test('compacting keeps here-documents and strings that span lines byte for byte (control: stripping every indent changes the meaning)', () => {
  requireShfmt();
  const script = [
    '#!/bin/bash',
    '# a comment',
    'f() {',
    '  local x=$((1 << 24)) # a shift, not a here-document',
    "  awk '",
    '    { print $1 }',
    '  \' <<< "$x"',
    '  cat << EOF',
    '    indented # not a comment',
    'EOF',
    '  echo "two',
    '     lines"',
    '}',
    '',
  ].join('\n');
  const shipped = compactScript(script);
  expect(shipped).toBe(
    [
      '#!/bin/bash',
      'f() {',
      'local x=$((1 << 24)) # a shift, not a here-document',
      "awk '",
      '    { print $1 }',
      '  \' <<< "$x"',
      'cat << EOF',
      '    indented # not a comment',
      'EOF',
      'echo "two',
      '     lines"',
      '}',
      '',
    ].join('\n'),
  );
  expect(minified(shipped)).toEqual(minified(script));
  const everyIndentStripped = script
    .split('\n')
    .map((line) => line.trimStart())
    .join('\n');
  expect(minified(everyIndentStripped)).not.toEqual(minified(script));
});
