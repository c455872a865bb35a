/**
 * GIVEN the committed Terraform modules under terraform/modules/ (release artifacts users call with `source =`)
 * WHEN the module stacks are synthesized afresh
 * THEN the committed files equal what `npm run build:modules` writes from them (the drift test),
 *   the module file is the stack's JSON less cdktf's metadata, and each README documents every
 *   variable, output and example.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, relative } from 'path';
import {
  cdktfStringify,
  expectedModuleFiles,
  MODULE_FILE,
  README_BEGIN,
  README_END,
  synthesizeModuleStacks,
  TERRAFORM_MODULES,
  TERRAFORM_MODULES_DIR,
  withoutCdktfMetadata,
} from '../../scripts/build/terraform-modules';
import { AWS_PROVIDER_CONSTRAINT } from '../../stacks/supported-versions';

const REPO = join(__dirname, '..', '..');
const synthesized = synthesizeModuleStacks();
const committedJson = (module: string) =>
  JSON.parse(readFileSync(join(TERRAFORM_MODULES_DIR, module, MODULE_FILE), 'utf8')) as Record<string, any>;
const readme = (module: string) => readFileSync(join(TERRAFORM_MODULES_DIR, module, 'README.md'), 'utf8');

/** The backticked names in the first column of the table under a `## <heading>`. */
function tableNames(text: string, heading: string): string[] {
  const section = text.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]);
}

test('GIVEN terraform/modules THEN it holds exactly the modules built from stacks', () => {
  expect(readdirSync(TERRAFORM_MODULES_DIR).sort()).toEqual(TERRAFORM_MODULES.map((module) => module.name).sort());
});

test('GIVEN a fresh synth WHEN the module files are rendered THEN every committed file equals it (else run npm run build:modules)', () => {
  const expected = expectedModuleFiles();
  expect(expected.size).toBe(2 * TERRAFORM_MODULES.length);
  const drifted = [...expected]
    .filter(([path, text]) => !existsSync(join(REPO, path)) || readFileSync(join(REPO, path), 'utf8') !== text)
    .map(([path]) => path);
  expect(drifted).toEqual([]);
});

describe.each(TERRAFORM_MODULES.map((module) => module.name))('module %s', (module) => {
  test('GIVEN the module file THEN it is the synthesized stack without cdktf metadata and otherwise byte for byte', () => {
    const stackText = synthesized.get(module)!;
    const stack = JSON.parse(stackText) as Record<string, any>;
    // The serializer is cdktf's own: it reproduces the synthesized text exactly.
    expect(cdktfStringify(stack)).toBe(stackText);
    expect(committedJson(module)).toEqual(withoutCdktfMetadata(JSON.parse(stackText) as Record<string, any>));
    expect(JSON.stringify(committedJson(module))).not.toContain('"//"');
    // Everything but the metadata survives: the same variables, outputs, resources, locals and requirements.
    for (const key of ['variable', 'output', 'locals', 'terraform']) expect(committedJson(module)[key]).toEqual(stack[key]);
    expect(Object.keys(committedJson(module).resource)).toEqual(Object.keys(stack.resource));
  });

  test('GIVEN the module file THEN it configures no provider and no backend, and requires the tested versions', () => {
    const json = committedJson(module);
    expect(json.provider).toBeUndefined();
    expect(json.terraform.backend).toBeUndefined();
    expect(json.terraform.required_version).toMatch(/^>= 1\.\d+$/);
    expect(json.terraform.required_providers.aws).toEqual({ source: 'hashicorp/aws', version: AWS_PROVIDER_CONSTRAINT });
  });

  test('GIVEN each example THEN it requires the Terraform and provider versions its module requires', () => {
    const { required_version, required_providers } = committedJson(module).terraform;
    const examplesDir = join(TERRAFORM_MODULES_DIR, module, 'examples');
    for (const example of readdirSync(examplesDir)) {
      const main = readFileSync(join(examplesDir, example, 'main.tf'), 'utf8');
      const versions = {
        example,
        terraform: /required_version\s*=\s*"([^"]+)"/.exec(main)?.[1],
        aws: /source\s*=\s*"hashicorp\/aws"\s*\n\s*version\s*=\s*"([^"]+)"/.exec(main)?.[1],
      };
      expect(versions).toEqual({ example, terraform: required_version, aws: required_providers.aws.version });
    }
  });

  test('GIVEN the README THEN its inputs table names every variable, its outputs table every output, and every example is described', () => {
    const text = readme(module);
    const json = committedJson(module);
    expect(text.indexOf(README_BEGIN)).toBeGreaterThan(0);
    expect(text.indexOf(README_END)).toBeGreaterThan(text.indexOf(README_BEGIN));
    expect(tableNames(text, 'Inputs').sort()).toEqual(Object.keys(json.variable).sort());
    expect(tableNames(text, 'Outputs').sort()).toEqual(Object.keys(json.output).sort());
    const examples = readdirSync(join(TERRAFORM_MODULES_DIR, module, 'examples'));
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) expect(text).toContain(`](examples/${example})`);
  });

  test('GIVEN the README THEN a Terraform user needs no Node: it shows a git source pinned to a release and no npm command', () => {
    const text = readme(module);
    expect(text).toContain(`//terraform/modules/${module}?ref=v`);
    expect(text).not.toMatch(/\bnpm (ci|install|run)\b(?! build:modules)/);
    expect(text).not.toMatch(/\bcdktf (synth|deploy)\b/);
  });
});

test('GIVEN every example THEN it calls its module by the committed relative path', () => {
  for (const module of TERRAFORM_MODULES) {
    const examplesDir = join(TERRAFORM_MODULES_DIR, module.name, 'examples');
    for (const example of readdirSync(examplesDir)) {
      const main = readFileSync(join(examplesDir, example, 'main.tf'), 'utf8');
      expect({ example: relative(REPO, join(examplesDir, example)), source: /source\s*=\s*"\.\.\/\.\."/.test(main) }).toEqual({
        example: relative(REPO, join(examplesDir, example)),
        source: true,
      });
    }
  }
});

test('GIVEN the docs and examples THEN every pinned release ref is the version in package.json', () => {
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const documents = [
    'README.md',
    'docs/releasing.md',
    ...TERRAFORM_MODULES.flatMap((module) => {
      const examplesDir = join(TERRAFORM_MODULES_DIR, module.name, 'examples');
      const examples = readdirSync(examplesDir).map((example) => relative(REPO, join(examplesDir, example, 'main.tf')));
      return [relative(REPO, join(TERRAFORM_MODULES_DIR, module.name, 'README.md')), ...examples];
    }),
  ];
  const refs = documents.flatMap((path) =>
    [...readFileSync(join(REPO, path), 'utf8').matchAll(/\?ref=v(\d+\.\d+\.\d+)/g)].map((match) => `${path}: ${match[1]}`),
  );
  expect(refs.length).toBeGreaterThanOrEqual(documents.length);
  expect(refs.filter((ref) => !ref.endsWith(`: ${version}`))).toEqual([]);
});

test('GIVEN CHANGELOG.md THEN it keeps an Unreleased section above the released versions', () => {
  const changelog = readFileSync(join(REPO, 'CHANGELOG.md'), 'utf8');
  const sections = [...changelog.matchAll(/^## \[([^\]]+)\]/gm)].map((match) => match[1]);
  expect(sections[0]).toBe('Unreleased');
  for (const section of sections.slice(1)) expect(section).toMatch(/^\d+\.\d+\.\d+$/);
});

test('GIVEN nat-instance-self-healing THEN it takes the nat-instance variables that apply to a self-healing NAT, plus fallback_instance_types and spot, and builds a group of one (not an instance) in either mode', () => {
  const plain = committedJson('nat-instance');
  const healing = committedJson('nat-instance-self-healing');
  const notApplicable = [
    'elastic_ip',
    'eip_allocation_ids',
    'public_ip_count',
    'alarm_recover_on_system_failure',
    'alarm_reboot_on_instance_failure',
  ];
  expect(Object.keys(healing.variable).sort()).toEqual(
    [...Object.keys(plain.variable).filter((name) => !notApplicable.includes(name)), 'fallback_instance_types', 'spot'].sort(),
  );
  // Shared variables are declared alike (type, default, validation): the same settings-table rules.
  for (const name of ['vpc_id', 'mode', 'route_table_ids', 'instance_type', 'additional_cidrs', 'port_forwards', 'tags']) {
    expect({ name, ...healing.variable[name], description: undefined }).toEqual({ name, ...plain.variable[name], description: undefined });
  }
  expect(Object.keys(healing.output).sort()).toEqual([
    'autoscaling_group_name',
    'forwarding_interface_id',
    'launch_template_id',
    'public_ip',
    'role_name',
    'security_group_id',
  ]);
  expect(healing.resource.aws_instance).toBeUndefined();
  expect(healing.resource.aws_route).toBeUndefined();
  expect(healing.resource.aws_eip_association).toBeUndefined();
  const [group] = Object.values<any>(healing.resource.aws_autoscaling_group);
  expect(group).toMatchObject({ min_size: 1, max_size: 1, desired_capacity: 1 });
  // The types in order of preference: a dynamic block over the list itself (not a set, which would sort it).
  expect(group.mixed_instances_policy.launch_template.dynamic.override).toEqual({
    for_each: '${concat([var.instance_type], var.fallback_instance_types)}',
    content: { instance_type: '${override.value}' },
  });
  expect(group.mixed_instances_policy.launch_template.override).toBeUndefined();
  expect(group.mixed_instances_policy.instances_distribution.on_demand_percentage_above_base_capacity).toBe('${var.spot ? 0 : 100}');
  // The mode is a variable: the static forwarding interface exists in dual mode only, and the
  // settings and the self-healing policy choose each mode's lines and statements.
  const [forwarding] = Object.values<any>(healing.resource.aws_network_interface);
  expect(forwarding.count).toBe('${(var.mode == "dual") ? 1 : 0}');
  const userData = Object.values<string>(healing.locals)[0];
  expect(userData).toContain('${(var.mode == "dual") ? "NAT_FORWARDING_INTERFACE_ID=${join("", aws_network_interface.');
  expect(userData).toContain('${(var.mode == "single") ? "NAT_DISABLE_SOURCE_DEST_CHECK=true" : ');
  const policy = Object.values<any>(healing.resource.aws_iam_policy).find((candidate) => String(candidate.name).endsWith('-self-healing'))!
    .policy as string;
  const [singleBranch, dualBranch] = policy.split(' : jsonencode(');
  expect(singleBranch.startsWith('${(var.mode == "single") ? jsonencode(')).toBe(true);
  expect([singleBranch.includes('"OwnInterfaceSourceDestCheck"'), singleBranch.includes('"AttachOwnForwardingInterface"')]).toEqual([
    true,
    false,
  ]);
  expect([dualBranch.includes('"OwnInterfaceSourceDestCheck"'), dualBranch.includes('"AttachOwnForwardingInterface"')]).toEqual([
    false,
    true,
  ]);
});
