/**
 * One table of settings (modules/nat/nat-settings.ts), three readers that must agree on every
 * value: the constructs' synth checks, the Terraform conditions generated for the module (run by
 * the real `terraform console`), and the boot script's own checks (its pure functions, sourced
 * from the shipped script by a non-root bash). Each rule is tried on its edges and on the mistakes
 * users make; a disagreement names the setting, the value and who said what.
 */
import { execFileSync } from 'child_process';
import { join } from 'path';
import { addressesCovered, parseCidr, parseIpv4, reservedAddressRole } from '../../modules/shared/cidr';
import { addressesCoveredExpression, checkSetting, conditionsOf, Setting, ValueRule } from '../../modules/shared/setting-rules';
import { EXISTING_INSTANCE_SETTINGS, NAT_INSTANCE_SETTINGS, PORT_FORWARD_SETTINGS } from '../../modules/nat/nat-settings';
import { portForwardSettingsLines, TerraformPortForward } from '../../modules/nat/port-forward-rendering';
import { evaluateTerraformValue } from './support/terraform-console';

const SCRIPT = join(__dirname, '../../modules/nat/boot/nat-instance.sh');
/** The private CIDRs the script checks forward targets against. */
const PRIVATE_CIDRS = ['10.8.1.0/24', '10.8.2.0/28'];

/**
 * Runs the script's `setting_problem` for each [key, value], in one bash that sources the script
 * (its `main` does not run when sourced). Returns '' for an accepted value, else the problem.
 */
function scriptProblems(cases: ReadonlyArray<readonly [string, string]>, targetBlocks: string[] = PRIVATE_CIDRS): string[] {
  const driver = [
    'source "$1"',
    `PRIVATE_CIDRS=(${targetBlocks.join(' ')})`,
    "while IFS=$'\\t' read -r key value; do",
    '  problem=$(setting_problem "$key" "$value")',
    '  printf "%s\\n" "${problem:-OK}"',
    'done',
  ].join('\n');
  const input = cases.map(([key, value]) => `${key}\t${value}`).join('\n') + '\n';
  const output = execFileSync('bash', ['--norc', '-c', driver, 'driver', SCRIPT], { input, encoding: 'utf8' });
  const lines = output.split('\n').slice(0, cases.length);
  expect(lines).toHaveLength(cases.length);
  return lines.map((line) => (line === 'OK' ? '' : line));
}

/** The construct's verdict: '' when `checkSetting` accepts the value, else its message. */
function constructProblem(setting: Setting, value: unknown): string {
  try {
    checkSetting(setting, value, { anySourceAllowed: true });
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

/** Values worth trying against a rule: its edges and typical mistakes. */
function candidatesOf(rule: ValueRule): unknown[] {
  switch (rule.kind) {
    case 'integer':
      return [rule.min - 1, rule.min, rule.min + 1, rule.max - 1, rule.max, rule.max + 1, 2.5, 'soon', ''];
    case 'oneOf':
      return [...rule.values, ...rule.values.map((value) => value.toUpperCase()), `${rule.values[0]} `, 'other', ''];
    case 'pattern':
      return ['rtb-0abc', 'rtb-0a1b2c3d4e5f60001', 'rtb-', 'rtb-zz', 'rtb-0ABC', 'subnet-0abc', 'rtb_0abc', ''];
    case 'ipv4':
      return ['10.8.1.10', '10.8.2.9', '10.8.1.256', '10.8.01.10', '10.8.1', '10.8.1.10.1', 'fd00::1', ''];
    case 'cidr':
      return [
        '10.8.1.0/24',
        '0.0.0.0/0',
        '10.8.1.1/24',
        '10.8.1.0/33',
        '10.0.0.0/08',
        '010.8.1.0/24',
        '10.8.1.0',
        '256.0.0.0/8',
        'fd00::/8',
        '',
      ];
    case 'notPattern':
      return [];
  }
}

/** Every table entry the boot script reads, with its settings key. */
const BOOT_SETTINGS = [...Object.values(NAT_INSTANCE_SETTINGS), ...Object.values(EXISTING_INSTANCE_SETTINGS)].filter(
  (setting): setting is Setting & { setting: string } =>
    'setting' in setting && setting.setting !== undefined && setting.setting !== 'NAT_PORT_FORWARD',
);

describe('the boot script and the constructs agree on every setting in the table', () => {
  const cases = BOOT_SETTINGS.flatMap((setting) =>
    setting.rules.flatMap(candidatesOf).flatMap((value) => {
      // A list setting is written comma-separated: each candidate alone, then after a good item.
      if (!setting.list) return [{ setting, value, text: String(value) }];
      const good = setting.rules.some((rule) => rule.kind === 'cidr') ? '10.8.3.0/24' : 'rtb-0def';
      return [
        { setting, value: [value], text: String(value) },
        { setting, value: [good, value], text: `${good},${value}` },
      ];
    }),
  );

  test.each(BOOT_SETTINGS.map((setting) => [setting.setting, setting.prop]))('%s (%s): same verdict on every candidate', (key, prop) => {
    const mine = cases.filter(({ setting }) => setting.setting === key && setting.prop === prop);
    expect(mine.length).toBeGreaterThan(5);
    const script = scriptProblems(mine.map(({ text }) => [key, text] as const));
    const verdicts = mine.map(({ setting, value, text }, i) => ({
      value: text,
      construct: constructProblem(setting, value) === '' ? 'accepts' : 'refuses',
      script: script[i] === '' ? 'accepts' : `refuses: ${script[i]}`,
    }));
    const disagreements = verdicts.filter(({ construct, script }) => construct !== script.split(':')[0]);
    expect(disagreements).toEqual([]);
    // Both sides accept something and refuse something: the comparison is not vacuous.
    expect(new Set(verdicts.map(({ construct }) => construct))).toEqual(new Set(['accepts', 'refuses']));
  });

  test('an empty list is refused by both where the table asks for at least one entry', () => {
    const [script] = scriptProblems([['NAT_PRIVATE_CIDRS', '']]);
    expect(script).toBe('is empty');
    expect(constructProblem(NAT_INSTANCE_SETTINGS.privateSubnetCidrs, [])).toContain('must contain at least one element');
  });
});

describe('the boot script and the constructs agree on every port-forward field', () => {
  const GOOD: TerraformPortForward = {
    protocol: 'tcp',
    public_port: 8080,
    target_ip: '10.8.1.10',
    target_port: 80,
    allowed_cidrs: ['203.0.113.0/24'],
    preserve_client_ip: true,
    allow_any_source: false,
  };
  const fields = Object.values(PORT_FORWARD_SETTINGS).filter((field) => field.setting === 'NAT_PORT_FORWARD' && field.rules.length > 0);

  test.each(fields.map((field) => [field.variable, field]))(
    '%s: the line the construct renders is accepted by the script exactly when the construct accepts the value',
    (_name, field) => {
      // Whitespace inside a field cannot survive the space-separated line: such candidates say nothing here.
      const values = field.rules
        .flatMap(candidatesOf)
        .filter((value) => !/\s/.test(String(value)))
        .map((value) => (field.list ? [value] : value));
      const lines = values.map((value) =>
        portForwardSettingsLines([{ ...GOOD, [field.variable!]: value } as TerraformPortForward], '')[0].replace(/^NAT_PORT_FORWARD=/, ''),
      );
      const script = scriptProblems(lines.map((line) => ['NAT_PORT_FORWARD', line] as const));
      const verdicts = values.map((value, i) => ({
        line: lines[i],
        construct: constructProblem(field, value) === '' ? 'accepts' : 'refuses',
        script: script[i] === '' ? 'accepts' : 'refuses',
        why: script[i],
      }));
      expect(verdicts.filter(({ construct, script }) => construct !== script)).toEqual([]);
      expect(new Set(verdicts.map(({ construct }) => construct))).toEqual(new Set(['accepts', 'refuses']));
    },
  );

  test.each(['10.8.1.0/24', '10.8.2.0/28', '10.20.0.0/22'])(
    'targets in %s: the script refuses exactly the addresses the construct finds reserved or outside',
    (block) => {
      const cidr = parseCidr(block, 'block');
      const size = 2 ** (32 - cidr.prefix);
      // The address before the block, its first 256, its broadcast address and the address after it.
      const offsets = [...new Set([-1, ...Array.from({ length: Math.min(size, 256) }, (_, i) => i), size - 1, size])];
      const addresses = offsets
        .map((offset) => cidr.network + offset)
        .map((n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
      const script = scriptProblems(
        addresses.map((ip) => ['NAT_PORT_FORWARD', `tcp 8080 ${ip} 80 preserve 203.0.113.0/24`] as const),
        [block],
      );
      const construct = addresses.map((ip) => {
        const address = parseIpv4(ip)!;
        return address >= cidr.network && address < cidr.network + size && reservedAddressRole(cidr, address) === undefined;
      });
      const verdicts = addresses.map((ip, i) => ({ ip, construct: construct[i], script: script[i] === '' }));
      expect(verdicts.filter((v) => v.construct !== v.script)).toEqual([]);
      expect(verdicts.filter((v) => !v.construct).length).toBe(7); // the one before, the five reserved, the one after
    },
  );
});

describe('the Terraform conditions generated from the table agree with the constructs', () => {
  /** Every table entry with a module variable (or port_forwards attribute) and rules. */
  const settings = [...Object.values(NAT_INSTANCE_SETTINGS), ...Object.values(PORT_FORWARD_SETTINGS)].filter(
    (setting): setting is Setting & { variable: string } =>
      'variable' in setting && setting.variable !== undefined && (setting.rules.length > 0 || setting.list !== undefined),
  );
  const MAP_CANDIDATES = [
    {},
    { Team: 'net' },
    { 'aws:owner': 'me' },
    { 'AWS:x': 'y' },
    { awsome: 'yes' },
    Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v'])),
    Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])),
    Object.fromEntries(Array.from({ length: 50 }, (_, i) => [i ? `k${i}` : 'Name', 'v'])),
  ];
  const NAME_CANDIDATES = [
    'nat-instance',
    'Nat_1+=,.@-x',
    '',
    'my nat',
    'nät',
    'n'.repeat(64),
    'n'.repeat(65),
    'sg-nat',
    'SG-nat',
    'nat:1',
    'arn:aws:iam::1:role/x',
  ];
  const INSTANCE_TYPES = [
    't4g.nano',
    'c7gn.16xlarge',
    'u7in-32tb.224xlarge',
    'm7i.metal-48xl',
    'mac2-m2pro.metal',
    't4g.nanno',
    't4g',
    'T4G.NANO',
    't4g.',
    '.nano',
    't4g.1024xlarge',
    '',
  ];
  const ID_CANDIDATES = [
    'vpc-0abc',
    'subnet-0abc',
    'sg-0abc',
    'rtb-0abc',
    'eipalloc-0abc',
    'vpc-zz',
    'sg-web',
    'web-servers',
    '',
    'arn:aws:sns:eu-central-1:123456789012:nat-alarms',
    'arn:aws-cn:sns:cn-north-1:123456789012:a_b',
    'arn:aws:sns:eu-central-1:1234:short-account',
    'arn:aws:sqs:eu-central-1:123456789012:q',
  ];

  function candidates(setting: Setting): unknown[] {
    if (setting.map) return MAP_CANDIDATES;
    const items =
      setting.variable === 'name'
        ? NAME_CANDIDATES
        : setting.variable === 'instance_type'
          ? INSTANCE_TYPES
          : setting.rules.some((rule) => rule.kind === 'pattern')
            ? ID_CANDIDATES
            : setting.rules.flatMap(candidatesOf);
    if (!setting.list) return items.filter((item) => typeof item === (setting.type === 'number' ? 'number' : 'string'));
    return [[], ...items.map((item) => [item]), ...items.map((item) => [items[0], item]), [items[0], items[0]]];
  }

  test('the same verdict for every candidate of every rule (one terraform console run)', () => {
    const cases = settings.flatMap((setting) => candidates(setting).map((value) => ({ setting, value })));
    expect(cases.length).toBeGreaterThan(150);
    const expressions = cases.map(({ setting, value }) => {
      const conditions = conditionsOf(setting, JSON.stringify(value), setting.variable);
      return conditions.length ? conditions.map((c) => `(${c.condition})`).join(' && ') : 'true';
    });
    const terraform = evaluateTerraformValue(`\${[${expressions.join(', ')}]}`) as boolean[];
    const verdicts = cases.map(({ setting, value }, i) => ({
      variable: setting.variable,
      value: JSON.stringify(value).slice(0, 60),
      construct: constructProblem(setting, value) === '',
      terraform: terraform[i],
    }));
    expect(verdicts.filter((v) => v.construct !== v.terraform)).toEqual([]);
    // Every variable's candidates include values both accept and values both refuse.
    for (const setting of settings) {
      const mine = verdicts.filter((v) => v.variable === setting.variable);
      expect({ variable: setting.variable, verdicts: new Set(mine.map((v) => v.construct)) }).toEqual({
        variable: setting.variable,
        verdicts: new Set([true, false]),
      });
    }
  });

  test('the addresses a CIDR list covers: Terraform counts the union as the constructs do', () => {
    const lists = [
      ['0.0.0.0/0'],
      ['0.0.0.0/1', '128.0.0.0/1'],
      ['0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/2', '192.0.0.0/2'],
      ['10.0.0.0/8', '10.0.0.0/8'],
      ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24'],
      ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'],
      ['2.0.0.0/7'],
      ['203.0.113.7/32'],
      ['0.0.0.0/1', '0.0.0.0/0', '128.0.0.0/2'],
      [],
    ];
    const terraform = evaluateTerraformValue(
      `\${[${lists.map((list) => addressesCoveredExpression(JSON.stringify(list))).join(', ')}]}`,
    ) as number[];
    expect(terraform).toEqual(lists.map((list) => addressesCovered(list.map((text) => parseCidr(text, 'list')))));
    expect(terraform.slice(0, 3)).toEqual([2 ** 32, 2 ** 32, 2 ** 32]);
  });
});
