/**
 * The buildspec's Terraform installer (test/e2e/install-terraform.sh), run for real against a
 * local release directory (file:// URL) holding a stand-in archive, since HashiCorp's release
 * server is not reachable here: it installs only an archive whose SHA-256 matches the pin.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const INSTALLER = join(__dirname, '../../test/e2e/install-terraform.sh');
const VERSION = '1.11.4';
let root: string;
let installDir: string;
let archiveSha256: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'install-terraform-'));
  const release = join(root, 'releases', VERSION);
  installDir = join(root, 'bin');
  mkdirSync(release, { recursive: true });
  mkdirSync(installDir);
  const staging = join(root, 'staging');
  mkdirSync(staging);
  writeFileSync(join(staging, 'terraform'), '#!/bin/sh\necho "Terraform v1.11.4 (stand-in)"\n', { mode: 0o755 });
  const zip = spawnSync('zip', ['-q', '-j', join(release, `terraform_${VERSION}_linux_arm64.zip`), join(staging, 'terraform')]);
  if (zip.status !== 0) throw new Error(`zip failed: ${zip.stderr}`);
  archiveSha256 = createHash('sha256')
    .update(readFileSync(join(release, `terraform_${VERSION}_linux_arm64.zip`)))
    .digest('hex');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => rmSync(join(installDir, 'terraform'), { force: true }));

function install(sha256: string) {
  const result = spawnSync('bash', [INSTALLER], {
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      PATH: process.env.PATH,
      TERRAFORM_VERSION: VERSION,
      TERRAFORM_SHA256: sha256,
      INSTALL_DIR: installDir,
      TERRAFORM_RELEASES_URL: `file://${join(root, 'releases')}`,
    },
  });
  return { exit: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
}

test('installs the archive when its SHA-256 matches the pin', () => {
  const outcome = install(archiveSha256);
  expect(outcome).toMatchObject({ exit: 0, stderr: '' });
  expect(outcome.stdout).toContain(`SHA-256 verified (${archiveSha256})`);
  expect(outcome.stdout).toContain('Terraform v1.11.4 (stand-in)');
});

test('refuses an archive whose SHA-256 differs, and installs nothing', () => {
  const other = 'a'.repeat(64);
  const outcome = install(other);
  expect(outcome.exit).toBe(1);
  expect(outcome.stderr).toBe(
    `install-terraform: SHA-256 mismatch for terraform_${VERSION}_linux_arm64.zip: got ${archiveSha256}, expected ${other}`,
  );
  expect(existsSync(join(installDir, 'terraform'))).toBe(false);
});

test('refuses a placeholder instead of a real checksum, before downloading', () => {
  const outcome = install('REPLACE_WITH_SHA256');
  expect(outcome.exit).toBe(1);
  expect(outcome.stderr).toContain(
    "TERRAFORM_SHA256 must be the 64-hex SHA-256 published for terraform_1.11.4_linux_arm64.zip, got 'REPLACE_WITH_SHA256'",
  );
  expect(outcome.stdout).not.toContain('downloading');
});

test('buildspec.yml pins this installer to a real 64-hex SHA-256 and Terraform version', () => {
  const buildspec = readFileSync(join(__dirname, '../../buildspec.yml'), 'utf8');
  expect(buildspec).toMatch(/TERRAFORM_VERSION: "\d+\.\d+\.\d+"/);
  expect(buildspec).toMatch(/TERRAFORM_SHA256: "[0-9a-f]{64}"/);
  expect(buildspec).toContain('test/e2e/install-terraform.sh');
});
