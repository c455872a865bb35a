/**
 * Installs nothing at boot when nftables is present; if it must, bounded retries:
 * the script on a host without nft (an AL2023 minimal AMI). dnf cannot exist here, so a
 * DNF DOUBLE stands in for it: it records its calls and "installs" the host's real nft.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { createLabVpc, expectBootSuccess, LabVpc, requireRoot, run, teardownLabs } from './harness';

jest.setTimeout(90_000);
beforeAll(requireRoot);
afterEach(teardownLabs);

const REAL_NFT = run(['sh', '-c', 'command -v nft']).stdout.trim();

/** A PATH directory holding every host command except nft (and dnf, unless the double is added). */
function pathWithoutNft(lab: LabVpc, withDnfDouble: boolean): { bin: string; dnfCalls: string } {
  const bin = join(lab.diskDirectory, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (name === 'nft' || name === 'dnf' || existsSync(join(bin, name))) continue;
      symlinkSync(join(dir, name), join(bin, name));
    }
  }
  const dnfCalls = join(bin, 'dnf-double.calls');
  if (withDnfDouble) {
    writeFileSync(
      join(bin, 'dnf'),
      `#!/bin/bash\n# DNF DOUBLE: records the call, then "installs" nftables by linking the host's nft.\necho "dnf $*" >> ${dnfCalls}\nln -sf ${REAL_NFT} ${bin}/nft\n`,
    );
    chmodSync(join(bin, 'dnf'), 0o755);
  }
  return { bin, dnfCalls };
}

function bootWithPath(lab: LabVpc, bin: string) {
  return run(['env', `PATH=${bin}`, ...lab.bootScriptCommand()], { check: false, timeoutMs: 60_000 });
}

test('without nft and without dnf the boot fails with one line and changes nothing', async () => {
  const lab = await createLabVpc({ mode: 'single' });
  const { bin } = pathWithoutNft(lab, false);
  const result = bootWithPath(lab, bin);
  expect({ exit: result.code, stderr: result.stderr.trim() }).toEqual({
    exit: 1,
    stderr: "nat-instance: FAILED: nftables ('nft') is not installed and there is no dnf to install it",
  });
  expect(lab.exec('nat', ['cat', '/proc/sys/net/ipv4/ip_forward']).stdout.trim()).toBe('0');
});

test('without nft the script installs nftables with dnf, once, and boots', async () => {
  const lab = await createLabVpc({ mode: 'single' });
  const { bin, dnfCalls } = pathWithoutNft(lab, true);
  const result = bootWithPath(lab, bin);
  expectBootSuccess('nft missing, dnf available', result);
  expect(result.stdout).toContain('nft is missing: installing nftables (attempt 1 of 3)');
  expect(readFileSync(dnfCalls, 'utf8')).toBe('dnf install -y -q nftables\n');
  expect(lab.exec('nat', ['nft', 'list', 'tables']).stdout.trim()).toBe('table ip nat_instance');
});

test('with nft present the script installs nothing', async () => {
  const lab = await createLabVpc({ mode: 'single' });
  const { bin, dnfCalls } = pathWithoutNft(lab, true);
  symlinkSync(REAL_NFT, join(bin, 'nft'));
  expectBootSuccess('nft present', bootWithPath(lab, bin));
  expect(existsSync(dnfCalls)).toBe(false);
});
