/**
 * ExistingInstanceNat (an ECS host that doubles as the NAT). The user data is checked
 * the way it reaches the host: placed in the user's own `aws_instance`, read back from the
 * synthesized JSON, evaluated by the real `terraform console`, parsed as YAML like cloud-init.
 */
import { gunzipSync } from 'zlib';
import { Fn, TerraformLocal, TerraformStack, TerraformVariable } from 'cdktf';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { parse as parseYaml } from 'yaml';
import { ExistingInstanceNat, ExistingInstanceNatProps, EXISTING_INSTANCE_REQUIREMENTS } from '../../modules/nat/existing-instance-nat';
import { BOOT_SCRIPT_PATH, SETTINGS_PATH } from '../../modules/nat/boot-settings';
import { readBootScript } from '../../modules/nat/user-data';
import { synthError, synthesize } from './support/synth';
import { evaluateTerraformString, TerraformValues } from './support/terraform-console';
import { userDataOf } from '../support/user-data-of';

interface WriteFile {
  path: string;
  owner?: string;
  permissions?: string;
  content: string;
}

const ROUTE_TABLES = ['rtb-0a1b2c3d4e5f60001', 'rtb-0a1b2c3d4e5f60002'];
const PRIVATE_CIDRS = ['10.0.1.0/24', '10.0.2.0/24'];
const BASE_PROPS: ExistingInstanceNatProps = {
  name: 'tinynat',
  privateCidrs: PRIVATE_CIDRS,
  routeTableIds: ROUTE_TABLES,
  roleName: 'ecs-host-role',
};
/** EC2 refuses user data above 16 KB (raw, before base64). */
const EC2_USER_DATA_LIMIT_BYTES = 16384;

const APPLY_VALUES: TerraformValues = {
  substitutions: [[/aws_route_table\.[\w-]+\.id/, 'rtb-0fromterraform0001']],
  variables: { route_table_ids: ROUTE_TABLES },
};

/** GIVEN an ExistingInstanceNat and the user's host using `userData(nat)`: the host's user data as the instance receives it. */
function deliveredUserData(
  props: Partial<ExistingInstanceNatProps>,
  userData: (nat: ExistingInstanceNat) => string = (nat) => nat.userData,
) {
  const synth = synthesize((stack) => {
    const nat = new ExistingInstanceNat(stack, 'tinynat', { ...BASE_PROPS, ...props });
    new Instance(stack, 'ecs-host', { ami: 'ami-0123456789abcdef0', instanceType: 't4g.small', userData: userData(nat) });
    return nat;
  });
  const raw = synth.only('aws_instance').block.user_data as string;
  return { synth, raw, evaluated: evaluateTerraformString(raw, APPLY_VALUES) };
}

function writeFilesOf(cloudConfig: string): WriteFile[] {
  expect(cloudConfig.startsWith('#cloud-config\n')).toBe(true);
  return (parseYaml(cloudConfig) as { write_files: WriteFile[] }).write_files;
}

function settingsOf(files: WriteFile[]): Record<string, string> {
  const settings = files.find((file) => file.path === SETTINGS_PATH);
  if (!settings) throw new Error(`no ${SETTINGS_PATH} among ${files.map((file) => file.path).join(', ')}`);
  return Object.fromEntries(
    settings.content
      .split('\n')
      .filter((line) => line.length > 0 && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('ExistingInstanceNat user data', () => {
  it('is a #cloud-config that installs the settings (single mode, self-claim, the route tables) and the boot script verbatim', () => {
    const { evaluated } = deliveredUserData({});
    const files = writeFilesOf(evaluated);
    expect(files.map((file) => [file.path, file.permissions])).toEqual([
      [SETTINGS_PATH, '0644'],
      [BOOT_SCRIPT_PATH, '0755'],
    ]);
    expect(files[1].content).toBe(readBootScript());
    expect(settingsOf(files)).toEqual({
      NAT_MODE: 'single',
      NAT_PRIVATE_CIDRS: PRIVATE_CIDRS.join(','),
      NAT_INTERFACE_WAIT_SECONDS: '120',
      NAT_CONNTRACK_MAX: '262144',
      NAT_ROUTE_MODE: 'self-claim',
      NAT_ROUTE_TABLE_IDS: ROUTE_TABLES.join(','),
    });
  });

  it('passes conntrackMax through to the settings', () => {
    expect(settingsOf(writeFilesOf(deliveredUserData({ conntrackMax: 524288 }).evaluated)).NAT_CONNTRACK_MAX).toBe('524288');
  });

  it('takes route-table IDs from resources and from a token list, resolved by Terraform', () => {
    const synth = synthesize((stack) => {
      const tables = [0, 1].map((i) => new RouteTable(stack, `private-${i}`, { vpcId: 'vpc-0123' }).id);
      const nat = new ExistingInstanceNat(stack, 'tinynat', { ...BASE_PROPS, routeTableIds: tables });
      new Instance(stack, 'ecs-host', { ami: 'ami-0123456789abcdef0', instanceType: 't4g.small', userData: nat.userData });
    });
    const resolved = evaluateTerraformString(synth.only('aws_instance').block.user_data, APPLY_VALUES);
    expect(settingsOf(writeFilesOf(resolved)).NAT_ROUTE_TABLE_IDS).toBe('rtb-0fromterraform0001,rtb-0fromterraform0001');

    const listSynth = synthesize((stack) => {
      const ids = new TerraformVariable(stack, 'route_table_ids', { type: 'list(string)' }).listValue;
      const nat = new ExistingInstanceNat(stack, 'tinynat', { ...BASE_PROPS, routeTableIds: ids });
      new Instance(stack, 'ecs-host', { ami: 'ami-0123456789abcdef0', instanceType: 't4g.small', userData: nat.userData });
    });
    const fromList = evaluateTerraformString(listSynth.only('aws_instance').block.user_data, APPLY_VALUES);
    expect(settingsOf(writeFilesOf(fromList)).NAT_ROUTE_TABLE_IDS).toBe(ROUTE_TABLES.join(','));
  });

  it('writeFiles merges into a host cloud-config that has its own write_files and runcmd', () => {
    const hostCloudConfig = (nat: ExistingInstanceNat) =>
      [
        '#cloud-config',
        'write_files:',
        '  - path: /etc/ecs/ecs.config',
        '    content: |',
        '      ECS_CLUSTER=web',
        nat.writeFiles,
        'runcmd:',
        '  - [systemctl, enable, --now, ecs]',
        '',
      ].join('\n');
    const { evaluated } = deliveredUserData({}, hostCloudConfig);
    const document = parseYaml(evaluated) as { write_files: WriteFile[]; runcmd: unknown[] };
    expect(document.write_files.map((file) => file.path)).toEqual(['/etc/ecs/ecs.config', SETTINGS_PATH, BOOT_SCRIPT_PATH]);
    expect(document.write_files[0].content).toBe('ECS_CLUSTER=web\n');
    expect(document.write_files[2].content).toBe(readBootScript());
    expect(document.runcmd).toEqual([['systemctl', 'enable', '--now', 'ecs']]);
    // The entries are the same as those of the complete document.
    expect(document.write_files.slice(1)).toEqual(writeFilesOf(deliveredUserData({}).evaluated));
  });

  it('delivered as user_data_base64 = base64gzip(local holding userData) (as docs/route-modes.md shows), it fits the EC2 limit and cloud-init gets the same document', () => {
    const plain = deliveredUserData({}).evaluated;
    const synth = synthesize((stack) => {
      const nat = new ExistingInstanceNat(stack, 'tinynat', BASE_PROPS);
      // A local keeps the cloud-config a readable Terraform string; base64gzip references it.
      const userData = new TerraformLocal(stack, 'tinynat_user_data', nat.userData);
      new Instance(stack, 'ecs-host', {
        ami: 'ami-0123456789abcdef0',
        instanceType: 't4g.small',
        userDataBase64: Fn.base64gzip(userData.asString),
      });
    });
    // Terraform evaluates base64gzip; EC2 decodes the base64; cloud-init recognizes gzip and unzips.
    const local = synth.json.locals.tinynat_user_data as string;
    const base64 = evaluateTerraformString(synth.only('aws_instance').block.user_data_base64, {
      substitutions: [[/local\.tinynat_user_data/, local]],
    });
    const compressed = Buffer.from(base64, 'base64');
    expect(compressed.length).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT_BYTES);
    expect(gunzipSync(compressed).toString('utf8')).toBe(plain);
  });
});

describe('ExistingInstanceNat IAM and network', () => {
  it('attaches a route-claim policy scoped to the route tables to the given role', () => {
    const { synth } = deliveredUserData({});
    const policy = synth.only('aws_iam_policy');
    const document = JSON.parse(policy.block.policy);
    const writes = document.Statement.find((statement: { Action: string[] }) => statement.Action.includes('ec2:ReplaceRoute'));
    expect(writes.Resource).toEqual(
      ROUTE_TABLES.map((id) => expect.stringMatching(new RegExp(`^arn:\\$\\{data\\.aws_partition\\..+:route-table/${id}$`))),
    );
    expect(policy.block.name).toBe('tinynat-route-claim');
    expect(synth.only('aws_iam_role_policy_attachment').block).toEqual({
      role: 'ecs-host-role',
      policy_arn: synth.ref('aws_iam_policy', policy.name, 'arn'),
    });
    expect(synth.built.routeClaimPolicy.policyArn).toBeDefined();
  });

  it('creates a security group admitting the private subnets only when vpcId is given', () => {
    const without = synthesize((stack) => new ExistingInstanceNat(stack, 'tinynat', BASE_PROPS));
    expect(without.resources('aws_security_group')).toEqual({});
    expect(without.built.securityGroupId).toBeUndefined();

    const withVpc = synthesize(
      (stack) => new ExistingInstanceNat(stack, 'tinynat', { ...BASE_PROPS, vpcId: 'vpc-0123456789abcdef0' }),
      (nat) => ({ securityGroupId: nat.securityGroupId }),
    );
    const group = withVpc.only('aws_security_group');
    expect(group.block.vpc_id).toBe('vpc-0123456789abcdef0');
    expect(group.block.ingress).toEqual([
      expect.objectContaining({ protocol: '-1', from_port: 0, to_port: 0, cidr_blocks: PRIVATE_CIDRS }),
    ]);
    expect(withVpc.exposed.securityGroupId).toBe(withVpc.ref('aws_security_group', group.name, 'id'));
  });

  it('states what the host must have, in a form that can be spread into an aws_instance', () => {
    expect(EXISTING_INSTANCE_REQUIREMENTS).toEqual({ sourceDestCheck: false, associatePublicIpAddress: true });
    const synth = synthesize((stack) => {
      const nat = new ExistingInstanceNat(stack, 'tinynat', BASE_PROPS);
      expect(nat.requiredInstanceSettings).toBe(EXISTING_INSTANCE_REQUIREMENTS);
      new Instance(stack, 'ecs-host', { ami: 'ami-0123456789abcdef0', instanceType: 't4g.small', ...nat.requiredInstanceSettings });
    });
    expect(synth.only('aws_instance').block).toEqual(
      expect.objectContaining({ source_dest_check: false, associate_public_ip_address: true }),
    );
  });
});

describe('ExistingInstanceNat validation (at synth, naming the prop)', () => {
  const cases: Array<[string, Partial<ExistingInstanceNatProps>, RegExp]> = [
    ['no private CIDRs', { privateCidrs: [] }, /'privateCidrs'/],
    ['an invalid private CIDR', { privateCidrs: ['10.0.1.0/24', '10.0.2.0/33'] }, /privateCidrs\[1\]/],
    ['no route tables', { routeTableIds: [] }, /'routeTableIds'/],
    ['a conntrackMax out of range', { conntrackMax: 10 }, /'conntrackMax'/],
    ['a route-table ID that is not rtb-…', { routeTableIds: ['rtb-0a1b2c3d4e5f60001', 'subnet-0123'] }, /routeTableIds\[1\]/],
    [
      'an empty roleName',
      { roleName: '' },
      /'roleName' must be an IAM role name: 1 to 64 letters, digits or _\+=,\.@- \(a name, not an ARN\), got ''/,
    ],
    [
      'a role ARN where the role name belongs',
      { roleName: 'arn:aws:iam::123456789012:role/ecs-host' },
      /'roleName' must be an IAM role name.*got 'arn:aws:iam::123456789012:role\/ecs-host'/,
    ],
    ['a role name longer than IAM allows', { roleName: 'r'.repeat(65) }, /'roleName' must be an IAM role name: 1 to 64/],
    [
      '0.0.0.0/0 among the private CIDRs',
      { privateCidrs: ['10.0.1.0/24', '0.0.0.0/0'] },
      /'privateCidrs' \(10\.0\.1\.0\/24, 0\.0\.0\.0\/0\) covers 4294967296 addresses, the whole internet: that would open every port of the host \(with 'vpcId'\) and its forwarding to the internet; set 'allowAnyClientSource: true'/,
    ],
    [
      'the internet in two halves as private CIDRs',
      { privateCidrs: ['0.0.0.0/1', '128.0.0.0/1'] },
      /'privateCidrs' \(0\.0\.0\.0\/1, 128\.0\.0\.0\/1\) covers 4294967296 addresses/,
    ],
    ['an empty vpcId', { vpcId: '' }, /'vpcId' must be a VPC ID/],
    ['a name with a space', { name: 'tiny nat' }, /'name' must be 1 to 64 ASCII letters/],
    [
      'a tag key starting with aws:',
      { tags: { 'aws:cloudformation:stack-name': 'x' } },
      /'tags' key 'aws:cloudformation:stack-name' must not start with aws:/,
    ],
  ];
  it.each(cases)('refuses %s', (_what, props, message) => {
    expect(synthError((stack: TerraformStack) => new ExistingInstanceNat(stack, 'tinynat', { ...BASE_PROPS, ...props }))).toMatch(message);
  });
  it('accepts the internet as private CIDRs only with allowAnyClientSource', () => {
    expect(() =>
      synthesize(
        (stack) => new ExistingInstanceNat(stack, 'tinynat', { ...BASE_PROPS, privateCidrs: ['0.0.0.0/0'], allowAnyClientSource: true }),
      ),
    ).not.toThrow();
  });
});

describe('ExistingInstanceNat userDataBase64', () => {
  it('GIVEN the construct THEN userDataBase64 is Terraform compressing a local that holds userData', () => {
    const synth = synthesize((stack) => {
      const nat = new ExistingInstanceNat(stack, 'nat', { privateCidrs: ['10.0.1.0/24'], routeTableIds: ['rtb-0abc'], roleName: 'web' });
      new Instance(stack, 'web', { ami: 'ami-1', instanceType: 't4g.small', userDataBase64: nat.userDataBase64 });
      return nat;
    });
    const instance = synth.only('aws_instance').block;
    expect(instance.user_data_base64).toMatch(/^\$\{base64gzip\(local\.[\w-]+\)\}$/);
    expect(userDataOf(synth.json, instance)).toBe(synth.built.userData);
  });
});
