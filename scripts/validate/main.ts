import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join } from 'path';
import { formatFinding } from './finding';
import { listSynthesizedStacks, synthesizeApp } from './synth-app';
import { StackReport, validateStack } from './validate-stack';

/**
 * `npm run validate`: synthesizes every stack of the app (as `cdktf synth` runs it, into a
 * temporary directory, so the result is always current), then checks each `cdk.tf.json`.
 *
 *   --outdir <dir>       check an existing cdktf output directory instead of synthesizing
 *   --stack-file <file>  check one Terraform JSON file (repeatable; the stack name is the file name)
 *
 * Prints one line per finding (`stack address attribute: message`) and a summary line;
 * exits 1 when there are findings, 2 when synthesis or the checker itself fails.
 */

interface Options {
  readonly outdir?: string;
  readonly stackFiles: string[];
}

function parseArguments(argv: string[]): Options {
  const stackFiles: string[] = [];
  let outdir: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const value = argv[i + 1];
    if (argv[i] === '--outdir' && value) {
      outdir = value;
      i += 1;
    } else if (argv[i] === '--stack-file' && value) {
      stackFiles.push(value);
      i += 1;
    } else {
      throw new Error(`unknown argument '${argv[i]}' (expected --outdir <dir> or --stack-file <file>)`);
    }
  }
  return { outdir, stackFiles };
}

async function stacksToCheck(options: Options, scratch: () => string): Promise<Map<string, string>> {
  if (options.stackFiles.length > 0) return new Map(options.stackFiles.map((file) => [basename(file).replace(/\.json$/, ''), file]));
  if (options.outdir) return listSynthesizedStacks(options.outdir);
  const outdir = scratch();
  await synthesizeApp(outdir);
  return listSynthesizedStacks(outdir);
}

async function main(): Promise<number> {
  const started = Date.now();
  const options = parseArguments(process.argv.slice(2));
  let scratchDir: string | undefined;
  try {
    const stacks = await stacksToCheck(options, () => (scratchDir = mkdtempSync(join(tmpdir(), 'validate-synth-'))));
    if (stacks.size === 0) {
      console.error('validate: no stacks found (did synth produce cdktf.out/stacks/*/cdk.tf.json?)');
      return 2;
    }
    const reports: StackReport[] = await Promise.all(
      [...stacks].map(([stack, file]) => validateStack(stack, JSON.parse(readFileSync(file, 'utf8')))),
    );
    const findings = reports.flatMap((report) => report.findings);
    for (const finding of findings) console.log(formatFinding(finding));
    const blocks = reports.reduce((sum, report) => sum + report.blocks, 0);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `validate: ${reports.length} stacks (${[...stacks.keys()].join(', ')}), ${blocks} resources and data sources, ${findings.length} findings (${seconds}s)`,
    );
    return findings.length > 0 ? 1 : 0;
  } finally {
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`validate: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
