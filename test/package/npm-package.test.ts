/**
 * GIVEN the library as `npm pack` builds and packs it
 * WHEN a fresh cdktf project installs the tarball offline and synthesizes stacks written against
 *   the package name (test/package/consumer)
 * THEN the package holds only the built library, its shell, README, LICENSE and CHANGELOG, and the
 *   consumer's NAT user data equals what this repository's sources render, byte for byte.
 */
import { App } from 'cdktf';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { appCommand, synthEnvironment } from '../../scripts/validate/synth-app';
import { userDataOf } from '../support/user-data-of';
import { CONSUMER_STACK, defineConsumerStacks } from './consumer/stacks';
import { ConsumerProject, createConsumerProject, packLibrary, PackResult, repoPackageJson, runInConsumer } from './consumer-project';

jest.setTimeout(900_000);

const FIXTURE = join(__dirname, 'consumer');
const scratch = mkdtempSync(join(tmpdir(), 'nat-pack-'));
let pack: PackResult;
let project: ConsumerProject | undefined;

beforeAll(() => {
  pack = packLibrary(scratch);
});

afterAll(() => {
  if (process.env.KEEP_CONSUMER) return;
  rmSync(scratch, { recursive: true, force: true });
  if (project) rmSync(project.dir, { recursive: true, force: true });
});

/** What may be in the package: the built library, the package's documents, package.json. */
const ALLOWED = [/^dist\/.+/, /^README\.md$/, /^LICENSE$/, /^CHANGELOG\.md$/, /^package\.json$/];
/** What must never be: tests, fixtures, sources, build and tool configuration. */
const FORBIDDEN = [
  /(^|\/)test\//,
  /\.test\./,
  /fixtures?\//,
  /^(modules|stacks|scripts|bench)\//,
  /(?<!\.d)\.ts$/,
  /tsconfig/,
  /jest\.config/,
];

describe('npm pack', () => {
  test('GIVEN npm pack --dry-run WHEN it lists the package THEN there is no test file, no source and nothing outside the built library and its documents', () => {
    const listed = packLibrary(scratch, ['--dry-run', '--ignore-scripts']).files.map((file) => file.path);
    expect(listed.filter((path) => FORBIDDEN.some((pattern) => pattern.test(path)))).toEqual([]);
    expect(listed.filter((path) => !ALLOWED.some((pattern) => pattern.test(path)))).toEqual([]);
    expect(listed).toEqual(
      expect.arrayContaining(['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']),
    );
    // The same list as the tarball the consumer installs.
    expect([...listed].sort()).toEqual(pack.files.map((file) => file.path).sort());
  });

  test('GIVEN the tarball WHEN its entry points and shell are looked up THEN main, types, every export and the boot script are in it', () => {
    const files = new Set(pack.files.map((file) => file.path));
    const library = repoPackageJson();
    const targets = [library.main, library.types, ...JSON.stringify(library.exports).match(/\.\/[^"]+/g)!].map((path) =>
      path!.replace(/^\.\//, ''),
    );
    expect(targets.filter((path) => !files.has(path))).toEqual([]);
    // Every shell script beside the sources is shipped beside the compiled code that reads it.
    expect(files).toContain('dist/modules/nat/boot/nat-instance.sh');
    expect(files).toContain('dist/modules/connectivity/check-internet-connectivity.sh');
    expect(readFileSync(join(__dirname, '../../LICENSE'), 'utf8')).toMatch(/^Mozilla Public License Version 2\.0\n/);
    expect(library.license).toBe('MPL-2.0');
  });
});

describe('a consumer project', () => {
  test('GIVEN a fresh project WHEN it installs the tarball offline and synthesizes THEN its user data equals ours byte for byte', () => {
    project = createConsumerProject(FIXTURE, scratch, pack);
    runInConsumer(project, 'npm', ['install', '--offline', '--no-audit', '--no-fund']);
    const installed = join(project.dir, 'node_modules', repoPackageJson().name);
    expect(existsSync(join(installed, 'dist', 'modules', 'nat', 'boot', 'nat-instance.sh'))).toBe(true);
    // Only the package's files were installed, no copy of this repository's sources.
    expect(existsSync(join(installed, 'modules'))).toBe(false);

    // The project's own app command (cdktf.json: tsc, then node), run as `cdktf synth` runs it.
    const theirsOut = join(project.dir, 'cdktf.out');
    runInConsumer(project, 'sh', ['-c', appCommand(project.dir)], synthEnvironment(theirsOut, {}));
    const theirs = readFileSync(join(theirsOut, 'stacks', CONSUMER_STACK, 'cdk.tf.json'), 'utf8');

    // Ours: the same stacks in-process, the package name mapped to this repository's index.ts.
    const oursOut = join(scratch, 'ours');
    const app = new App({ outdir: oursOut });
    defineConsumerStacks(app);
    app.synth();
    const ours = readFileSync(join(oursOut, 'stacks', CONSUMER_STACK, 'cdk.tf.json'), 'utf8');

    const json = (text: string) =>
      JSON.parse(text) as { locals: Record<string, string>; resource: { aws_instance: Record<string, object> } };
    const natUserData = (text: string) =>
      Object.values(json(text).resource.aws_instance).map((instance) => userDataOf(json(text), instance));
    expect(natUserData(ours)).toHaveLength(1);
    expect(natUserData(theirs)).toEqual(natUserData(ours));
    // The existing-instance user data (a local of its own) and every other local, then the whole document.
    expect(Object.keys(json(ours).locals)).toHaveLength(2);
    expect(json(theirs).locals).toEqual(json(ours).locals);
    expect(theirs).toBe(ours);
  });
});
