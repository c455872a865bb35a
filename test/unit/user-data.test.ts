/**
 * The NAT instance's user data as users deploy it: read from the synthesized JSON, evaluated by
 * the real `terraform console` (so an unescaped shell `${…}` fails here as it would at plan),
 * then checked as cloud-init and the shell would see it: YAML, `cloud-init schema`, `shellcheck`.
 * The boot script is whatever `modules/nat/boot/nat-instance.sh` holds now.
 */
import { spawnSync } from 'child_process';
import { gunzipSync } from 'zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse as parseYaml } from 'yaml';
import { BOOT_SCRIPT_PATH, NatInstanceProps, readBootScript, renderNatUserData, SETTINGS_PATH, compactScript } from '../../modules/nat';
import {
  METRICS_SCRIPT_PATH,
  METRICS_SERVICE_PATH,
  METRICS_SETTINGS_PATH,
  METRICS_TIMER_PATH,
  readMetricsScript,
} from '../../modules/nat/metrics-settings';
import { escapeForTerraform } from '../../modules/shared/terraform-expressions';
import { synthesize } from './support/synth';
import { evaluateTerraformString } from './support/terraform-console';
import { userDataOf } from '../support/user-data-of';
import { natOnExampleNetwork } from './support/example-nat';
import { EC2_USER_DATA_LIMIT } from '../../scripts/validate/user-data-check';

interface WriteFile {
  path: string;
  owner: string;
  permissions: string;
  content: string;
}

/** Route-table IDs as they will be known at apply time, for `${aws_route_table.x.id}`. */
const APPLY_VALUES = { substitutions: [[/aws_route_table\.[\w-]+\.id/, 'rtb-0example'] as const] };

/** GIVEN the nat-example network and a NatInstance with `props`, the raw `user_data` string of the synthesized JSON. */
function synthesizedUserData(props: Partial<NatInstanceProps>): string {
  const synth = synthesize((stack) => natOnExampleNetwork(stack, props));
  return userDataOf(synth.json, synth.only('aws_instance').block);
}

/** Interpolations Terraform would evaluate: `${…}` not escaped as `$${…}`. */
function interpolations(text: string): string[] {
  return [...text.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((match) => match[1]);
}

function countOf(text: string, fragment: string): number {
  return text.split(fragment).length - 1;
}

/** Runs a command; returns its exit status and combined output (never throws on failure). */
function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${command} could not run: ${result.error.message} (install it: see scripts/install-test-host.sh)`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Writes text to a temporary file, runs `check` on its path, removes it. */
function withTempFile<T>(name: string, text: string, check: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'user-data-test-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, text);
    return check(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** shellcheck's verdict on a script; scripts identical across cases are checked once. */
const shellcheckVerdicts = new Map<string, { status: number | null; output: string }>();
function shellcheck(script: string): { status: number | null; output: string } {
  let verdict = shellcheckVerdicts.get(script);
  if (!verdict) {
    verdict = withTempFile('nat-instance.sh', script, (path) => run('shellcheck', [path]));
    shellcheckVerdicts.set(script, verdict);
  }
  return verdict;
}

function writeFilesOf(evaluated: string): WriteFile[] {
  const document = parseYaml(evaluated) as { write_files: WriteFile[] };
  return document.write_files;
}

function fileAt(files: WriteFile[], path: string): WriteFile {
  const matches = files.filter((file) => file.path === path);
  expect(matches).toHaveLength(1);
  return matches[0];
}

describe.each([
  [
    'single mode with port forwards and additional CIDRs',
    {
      additionalCidrs: ['172.16.0.0/16'],
      portForwards: [
        { publicPort: 8443, targetIp: '10.8.1.10', targetPort: 443, allowedCidrs: ['203.0.113.0/24'] },
        {
          publicPort: 5353,
          protocol: 'udp',
          targetIp: '10.8.2.20',
          targetPort: 53,
          preserveClientIp: false,
          allowedCidrs: ['192.0.2.0/24', '198.51.100.7/32'],
        },
      ],
    } as Partial<NatInstanceProps>,
    [
      'NAT_MODE=single',
      'NAT_PRIVATE_CIDRS=10.8.1.0/24,10.8.2.0/24,10.8.3.0/24,172.16.0.0/16',
      'NAT_ROUTE_MODE=terraform',
      'NAT_INTERFACE_WAIT_SECONDS=120',
      'NAT_CONNTRACK_MAX=262144',
      'NAT_PORT_FORWARD=tcp 8443 10.8.1.10 443 preserve 203.0.113.0/24',
      'NAT_PORT_FORWARD=udp 5353 10.8.2.20 53 masquerade 192.0.2.0/24,198.51.100.7/32',
    ],
    [] as string[],
    ['NAT_FORWARDING_SUBNET_CIDR', 'NAT_ROUTE_TABLE_IDS'],
  ],
  [
    'dual mode claiming its routes, with custom wait and conntrack size',
    { mode: 'dual', routeMode: 'self-claim', interfaceWaitSeconds: 30, conntrackMax: 131072 } as Partial<NatInstanceProps>,
    [
      'NAT_MODE=dual',
      'NAT_PRIVATE_CIDRS=10.8.1.0/24,10.8.2.0/24,10.8.3.0/24',
      'NAT_FORWARDING_SUBNET_CIDR=10.8.1.0/24',
      'NAT_ROUTE_MODE=self-claim',
      'NAT_ROUTE_TABLE_IDS=rtb-0example,rtb-0example',
      'NAT_INTERFACE_WAIT_SECONDS=30',
      'NAT_CONNTRACK_MAX=131072',
    ],
    ['aws_route_table'],
    ['NAT_PORT_FORWARD'],
  ],
])('NAT user data, %s', (_case, props, expectedSettings, referencedTypes, absentKeys) => {
  const raw = synthesizedUserData(props);
  // Shipped without comment lines beside the metrics publisher (EC2's 16 KB: user-data.ts).
  const script = compactScript(readBootScript());
  let evaluated: string;
  beforeAll(() => {
    evaluated = evaluateTerraformString(raw, APPLY_VALUES);
  });

  it('THEN it is a #cloud-config document', () => {
    expect(raw.startsWith('#cloud-config\n')).toBe(true);
  });

  it('THEN the only Terraform interpolations are references to resources (no shell expansion escaped the escaping)', () => {
    const found = interpolations(raw);
    for (const expression of found) {
      expect(expression).toMatch(/^(aws_[a-z0-9_]+|data\.aws_[a-z0-9_]+|var)\.[\w-]+(\.[\w-]+)*$/);
    }
    expect([...new Set(found.map((expression) => expression.split('.')[0]))].sort()).toEqual(referencedTypes);
    expect(raw).not.toMatch(/(?<!%)%\{/);
  });

  it('THEN every ${ of the boot script and of the metrics publisher reaches the JSON escaped as $${', () => {
    for (const [path, shipped] of [
      [BOOT_SCRIPT_PATH, script],
      [METRICS_SCRIPT_PATH, compactScript(readMetricsScript())],
    ]) {
      const start = raw.indexOf(`path: ${path}`);
      const end = raw.indexOf('\n  - path: ', start);
      const part = raw.slice(start, end === -1 ? undefined : end);
      expect({ path, escaped: countOf(part, '$${'), directives: countOf(part, '%%{') }).toEqual({
        path,
        escaped: countOf(shipped, '${'),
        directives: countOf(shipped, '%{'),
      });
    }
  });

  it('THEN after Terraform evaluates it, it parses as YAML with the settings file, the per-boot script and the metrics publisher', () => {
    const files = writeFilesOf(evaluated);
    expect(files.map((file) => file.path)).toEqual([
      SETTINGS_PATH,
      BOOT_SCRIPT_PATH,
      METRICS_SETTINGS_PATH,
      METRICS_SCRIPT_PATH,
      METRICS_SERVICE_PATH,
      METRICS_TIMER_PATH,
    ]);
    expect(fileAt(files, METRICS_SCRIPT_PATH)).toMatchObject({ owner: 'root:root', permissions: '0755' });
    expect(fileAt(files, SETTINGS_PATH)).toMatchObject({ owner: 'root:root', permissions: '0644' });
    expect(fileAt(files, BOOT_SCRIPT_PATH)).toMatchObject({ owner: 'root:root', permissions: '0755' });
    expect(BOOT_SCRIPT_PATH.startsWith('/var/lib/cloud/scripts/per-boot/')).toBe(true);
  });

  it('THEN the settings file holds the literal settings, one line per key', () => {
    const lines = fileAt(writeFilesOf(evaluated), SETTINGS_PATH).content.split('\n');
    expect(lines.filter((line) => line.startsWith('NAT_'))).toEqual(expect.arrayContaining(expectedSettings));
    const keys = lines.filter((line) => line.startsWith('NAT_')).map((line) => line.split('=')[0]);
    const singleKeys = keys.filter((key) => key !== 'NAT_PORT_FORWARD');
    expect(new Set(singleKeys).size).toBe(singleKeys.length);
    expect(keys.filter((key) => absentKeys.includes(key))).toEqual([]);
    expect(lines.filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('NAT_'))).toEqual([]);
  });

  it('THEN the boot script arrives byte for byte as shipped', () => {
    expect(fileAt(writeFilesOf(evaluated), BOOT_SCRIPT_PATH).content).toBe(script.replace(/\n*$/, '\n'));
  });

  it('THEN cloud-init accepts it (cloud-init schema)', () => {
    const result = withTempFile('user-data.yaml', evaluated, (path) => run('cloud-init', ['schema', '--config-file', path]));
    expect(result.output).toContain('Valid cloud-config');
    expect(result.status).toBe(0);
  });

  it('THEN the scripts it installs pass shellcheck', () => {
    for (const path of [BOOT_SCRIPT_PATH, METRICS_SCRIPT_PATH]) {
      const result = shellcheck(fileAt(writeFilesOf(evaluated), path).content);
      expect({ path, output: result.output, status: result.status }).toEqual({ path, output: '', status: 0 });
    }
  });

  it('THEN the metrics publisher arrives byte for byte, with its settings and a timer that cloud-init starts', () => {
    const files = writeFilesOf(evaluated);
    expect(fileAt(files, METRICS_SCRIPT_PATH).content).toBe(compactScript(readMetricsScript()).replace(/\n*$/, '\n'));
    expect(
      fileAt(files, METRICS_SETTINGS_PATH)
        .content.split('\n')
        .filter((line) => line.startsWith('NAT_METRICS_')),
    ).toEqual([
      'NAT_METRICS_NAMESPACE=cdktf-nat-instance',
      'NAT_METRICS_NAME=nat-instance',
      'NAT_METRICS_PROBE_URL=https://checkip.amazonaws.com/',
    ]);
    expect(fileAt(files, METRICS_SERVICE_PATH).content).toContain(`ExecStart=${METRICS_SCRIPT_PATH}\n`);
    expect(fileAt(files, METRICS_TIMER_PATH).content).toMatch(/OnUnitActiveSec=60\n[^]*WantedBy=timers\.target/);
    expect((parseYaml(evaluated) as { runcmd?: unknown[] }).runcmd).toEqual(['systemctl enable --now nat-metrics.timer']);
  });
});

describe('NAT user data without the metrics publisher', () => {
  it('GIVEN metrics false THEN only the settings and the boot script (with its comments) are written, and nothing runs at first boot', () => {
    const evaluated = evaluateTerraformString(synthesizedUserData({ metrics: false }), APPLY_VALUES);
    expect(writeFilesOf(evaluated).map((file) => file.path)).toEqual([SETTINGS_PATH, BOOT_SCRIPT_PATH]);
    expect(fileAt(writeFilesOf(evaluated), BOOT_SCRIPT_PATH).content).toBe(readBootScript().replace(/\n*$/, '\n'));
    expect((parseYaml(evaluated) as { runcmd?: unknown }).runcmd).toBeUndefined();
  });
});

describe('Terraform escaping of the boot script', () => {
  it('GIVEN text with ${ and %{ WHEN escaped THEN each becomes $${ and %%{ and nothing else changes', () => {
    expect(escapeForTerraform('a=${A:-x} b=$B %{ if } 100% {x} $${')).toBe('a=$${A:-x} b=$B %%{ if } 100% {x} $$${');
  });

  it('GIVEN a script with shell expansions and a template directive WHEN rendered and evaluated by Terraform THEN it comes back verbatim', () => {
    const customScript = '#!/bin/bash\nset -euo pipefail\necho "${HOME:-/root} ${#ARR[@]}" %{x}\n';
    const userData = renderNatUserData(
      {
        mode: 'single',
        privateCidrs: ['10.0.1.0/24'],
        interfaceWaitSeconds: 120,
        conntrackMax: 262144,
        routeMode: 'terraform',
        routeTableIds: [],
        portForwards: [],
      },
      customScript,
    );
    expect(fileAt(writeFilesOf(evaluateTerraformString(userData)), BOOT_SCRIPT_PATH).content).toBe(customScript);
  });

  it('GIVEN an unescaped shell expansion WHEN Terraform evaluates it THEN it fails (what the escaping prevents)', () => {
    expect(() => evaluateTerraformString('SETTINGS_FILE=${NAT_SETTINGS_FILE:-/etc/nat-instance/settings}')).toThrow(
      /terraform could not evaluate/,
    );
  });
});

describe('NAT user data as EC2 receives it', () => {
  it('GIVEN a dual-mode NAT claiming its routes with port forwards WHEN Terraform compresses the document THEN EC2 gets at most 16 KB, which unzips to that document', () => {
    const synth = synthesize((stack) =>
      natOnExampleNetwork(
        stack,
        {
          mode: 'dual',
          routeMode: 'self-claim',
          portForwards: Array.from({ length: 10 }, (_, i) => ({
            publicPort: 10000 + i,
            targetIp: '10.8.1.10',
            targetPort: 22,
            allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
          })),
        },
        { privateRouteTables: 'per-subnet' },
      ),
    );
    const instance = synth.only('aws_instance').block;
    const document = evaluateTerraformString(userDataOf(synth.json, instance), APPLY_VALUES);
    const local = /local\.[\w-]+/.exec(instance.user_data_base64)![0];
    const base64 = evaluateTerraformString(instance.user_data_base64, {
      substitutions: [[new RegExp(local.replace('.', '\\.')), escapeForTerraform(document)]],
    });
    const sent = Buffer.from(base64, 'base64');
    expect(sent.length).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT);
    expect(gunzipSync(sent).toString('utf8')).toBe(document);
  });
});
