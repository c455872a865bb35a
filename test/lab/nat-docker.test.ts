/**
 * On a Docker/ECS host Docker sets the iptables FORWARD policy to
 * DROP; the script opens DOCKER-USER for the NAT flows, once, however often it runs.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { createLabVpc, expectBootSuccess, expectSourceIp, LAB_ADDRESSES, LabVpc, requireRoot, run, teardownLabs } from './harness';

jest.setTimeout(90_000);
beforeAll(requireRoot);
afterEach(teardownLabs);

const internetHttp = { protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetHttpPort } as const;

/** What dockerd does to the filter table (iptables-nft, as on Amazon Linux 2023). */
function installDockerStyleForwardDrop(lab: LabVpc): void {
  lab.exec('nat', ['iptables', '-N', 'DOCKER-USER']);
  lab.exec('nat', ['iptables', '-A', 'DOCKER-USER', '-j', 'RETURN']);
  lab.exec('nat', ['iptables', '-A', 'FORWARD', '-j', 'DOCKER-USER']);
  lab.exec('nat', ['iptables', '-P', 'FORWARD', 'DROP']);
}

function dockerUserRules(lab: LabVpc): string[] {
  return lab.exec('nat', ['iptables', '-S', 'DOCKER-USER']).stdout.trim().split('\n');
}

test('scenario 9: with a Docker-style FORWARD DROP and a DOCKER-USER chain the NAT still forwards', async () => {
  const scenario = 'scenario 9: Docker FORWARD DROP (single)';
  const lab = await createLabVpc({ mode: 'single' });
  installDockerStyleForwardDrop(lab);

  const result = lab.runBootScript();
  expectBootSuccess(scenario, result);
  expect(result.stdout).toContain('DOCKER-USER chains 1');
  for (const host of lab.privateHosts) expectSourceIp(lab, { scenario, from: host.node, ...internetHttp }, lab.natPublicIp);

  // Re-runs add nothing twice.
  const rules = dockerUserRules(lab);
  expect(rules).toHaveLength(1 + 2 + lab.privateHosts.length + 1); // -N, conntrack x2, one per CIDR, RETURN
  expectBootSuccess(`${scenario}, re-run`, lab.runBootScript());
  expect(dockerUserRules(lab)).toEqual(rules);

  // Control: without our DOCKER-USER accepts, Docker's DROP wins over our nftables accepts.
  lab.exec('nat', ['iptables', '-F', 'DOCKER-USER']);
  lab.exec('nat', ['iptables', '-A', 'DOCKER-USER', '-j', 'RETURN']);
  const control = { scenario: `${scenario}, control without DOCKER-USER accepts`, from: 'h2' as const, ...internetHttp };
  expect(() => expectSourceIp(lab, control, lab.natPublicIp)).toThrow(/observed: no answer/);
});

test('scenario 9b: Docker installed but started after the script still forwards (DOCKER-USER created ahead of it)', async () => {
  const scenario = 'scenario 9b: Docker starts after the boot script (single)';
  const lab = await createLabVpc({ mode: 'single' });
  // A DOCKERD DOUBLE on the PATH: only its presence matters to the script (Docker is installed).
  const bin = join(lab.diskDirectory, 'docker-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'dockerd'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(bin, 'dockerd'), 0o755);
  const result = run(['env', `PATH=${bin}:${process.env.PATH}`, ...lab.bootScriptCommand()], { check: false, timeoutMs: 60_000 });
  expectBootSuccess(scenario, result);
  expect(result.stdout).toContain('created DOCKER-USER ahead of it');

  // What dockerd then does at start: keep DOCKER-USER, append its RETURN, jump to it, FORWARD DROP.
  lab.exec('nat', ['iptables', '-A', 'DOCKER-USER', '-j', 'RETURN']);
  lab.exec('nat', ['iptables', '-I', 'FORWARD', '-j', 'DOCKER-USER']);
  lab.exec('nat', ['iptables', '-P', 'FORWARD', 'DROP']);
  for (const host of lab.privateHosts) expectSourceIp(lab, { scenario, from: host.node, ...internetHttp }, lab.natPublicIp);
});
