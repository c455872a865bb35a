/**
 * The lab runs what users deploy: the user data read back out of the synthesized stack and
 * evaluated as Terraform would (through a Terraform-string double), and a shellcheck-clean script.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { evaluateTerraformString, run, sampleValue, synthesizeNatUserData } from './harness';
import { compactScript } from '../../modules/nat/compact-script';

const SCRIPT_PATH = join(__dirname, '..', '..', 'modules', 'nat', 'boot', 'nat-instance.sh');

test('the synthesized user data delivers the boot script byte for byte, executable, per boot', () => {
  const userData = synthesizeNatUserData({ mode: 'dual' });
  const script = userData.files.find((file) => file.path === '/var/lib/cloud/scripts/per-boot/nat-instance.sh');
  expect(script?.permissions).toBe('0755');
  // Compacted beside the metrics publisher (EC2's 16 KB: modules/nat/compact-script.ts).
  expect(script?.content).toBe(compactScript(readFileSync(SCRIPT_PATH, 'utf8')));
  expect(userData.files.map((file) => file.path)).toEqual([
    '/etc/nat-instance/settings',
    '/var/lib/cloud/scripts/per-boot/nat-instance.sh',
    // The metrics publisher (on by default), its settings and systemd units.
    '/etc/nat-instance/metrics',
    '/var/lib/nat-instance/nat-metrics.sh',
    '/etc/systemd/system/nat-metrics.service',
    '/etc/systemd/system/nat-metrics.timer',
  ]);
  const publisher = userData.files.find((file) => file.path === '/var/lib/nat-instance/nat-metrics.sh');
  expect(publisher?.permissions).toBe('0755');
  expect(publisher?.content).toBe(
    compactScript(readFileSync(join(__dirname, '..', '..', 'modules', 'nat', 'boot', 'nat-metrics.sh'), 'utf8')),
  );
});

test('the settings carry the props literally and resource IDs as evaluated references', () => {
  const userData = synthesizeNatUserData({
    mode: 'dual',
    routeMode: 'self-claim',
    portForwards: [{ publicPort: 9999, targetIp: '10.8.2.20', targetPort: 22, allowedCidrs: ['203.0.113.5/32'], preserveClientIp: false }],
  });
  const settings = userData.files[0].content;
  expect(settings).toContain('NAT_MODE=dual\n');
  expect(settings).toContain('NAT_PRIVATE_CIDRS=10.8.1.0/24,10.8.2.0/24,10.8.3.0/24\n');
  expect(settings).toContain('NAT_PORT_FORWARD=tcp 9999 10.8.2.20 22 masquerade 203.0.113.5/32\n');
  // In the JSON the route tables are Terraform references; on the instance they are IDs.
  expect(userData.raw).toMatch(/NAT_ROUTE_TABLE_IDS=\$\{aws_route_table\.[\w-]+\.id\},\$\{aws_route_table\.[\w-]+\.id\}/);
  expect(settings).toMatch(/^NAT_ROUTE_TABLE_IDS=rtb-[0-9a-f]{17},rtb-[0-9a-f]{17}$/m);
});

describe('Terraform-string double', () => {
  test('unescapes $${ and %%{ and resolves resource references', () => {
    expect(evaluateTerraformString('echo "$${HOME}" %%{x} ${aws_route_table.a.id} $$ $x')).toBe(
      `echo "\${HOME}" %{x} ${sampleValue('aws_route_table.a.id')} $$ $x`,
    );
    expect(evaluateTerraformString('${join(",", [aws_subnet.a.id, aws_subnet.b.id])}', { 'aws_subnet.a.id': 'subnet-a' })).toBe(
      `subnet-a,${sampleValue('aws_subnet.b.id')}`,
    );
  });

  test('rejects what Terraform rejects: unescaped shell expansions and directives', () => {
    expect(() => evaluateTerraformString('echo ${HOME}')).toThrow(/would reject the interpolation '\$\{HOME\}'/);
    expect(() => evaluateTerraformString('n=${#list[@]}')).toThrow(/would reject/);
    expect(() => evaluateTerraformString('%{ if x }')).toThrow(/template directive/);
  });

  test('the unescaped script would not survive Terraform (so the escaping is load-bearing)', () => {
    expect(() => evaluateTerraformString(readFileSync(SCRIPT_PATH, 'utf8'))).toThrow(/would reject the interpolation/);
  });
});

test('the boot script is shellcheck-clean', () => {
  const result = run(['shellcheck', '--severity=style', SCRIPT_PATH], { check: false });
  expect({ exit: result.code, findings: result.stdout }).toEqual({ exit: 0, findings: '' });
});
