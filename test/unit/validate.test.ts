import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Finding } from '../../scripts/validate/finding';
import { renderTemplateWithSamples } from '../../scripts/validate/template-render';
import { validateStack } from '../../scripts/validate/validate-stack';

// The validator behind `npm run validate`: each deliberately broken fixture proves one check fails,
// the valid fixture proves the checks accept what Terraform accepts. cloud-init and shellcheck run
// for real (a missing tool is itself a finding, so these tests fail loudly without them).
jest.setTimeout(120_000);

const FIXTURES = join(__dirname, '..', 'fixtures', 'validate');

async function findingsOf(fixture: string): Promise<Finding[]> {
  const doc = JSON.parse(readFileSync(join(FIXTURES, `${fixture}.json`), 'utf8'));
  return (await validateStack(fixture, doc)).findings;
}

/** address + attribute + the decisive part of the message. */
function finding(address: string, attribute: string, message: string) {
  return expect.objectContaining({ address, attribute, message: expect.stringContaining(message) });
}

describe('validateStack', () => {
  it('GIVEN a stack using blocks, dynamic blocks, for expressions, directives, each, locals, variables and escaped shell WHEN validated THEN there are no findings', async () => {
    expect(await findingsOf('valid')).toEqual([]);
  });

  describe('schema check', () => {
    it('GIVEN a misspelled argument WHEN validated THEN it is reported as unknown with its address', async () => {
      expect(await findingsOf('unknown-argument')).toEqual([finding('aws_subnet.a', 'cidr_blok', "unknown argument 'cidr_blok'")]);
    });

    it('GIVEN a route without route_table_id WHEN validated THEN the required argument is reported', async () => {
      expect(await findingsOf('missing-required')).toEqual([
        finding('aws_route.default', 'route_table_id', "missing required argument 'route_table_id'"),
      ]);
    });

    it('GIVEN blocks and attributes in the wrong shape WHEN validated THEN each is reported', async () => {
      expect(await findingsOf('wrong-nesting')).toEqual([
        finding('aws_instance.bad', 'root_block_device', 'allows one block, got 2'),
        finding('aws_instance.bad', 'metadata_options', 'is a nested block and needs an object, got a string'),
        finding('aws_instance.bad', 'vpc_security_group_ids', 'is a list attribute, got a string'),
        finding('aws_instance.bad', 'tags', 'is a map attribute, got a list'),
        finding('aws_instance.bad', 'instance_type_extra', "unknown argument 'instance_type_extra'"),
        finding('aws_instance.bad', 'source_dest_check', "'no' does not convert to a bool"),
        finding('aws_instance.bad', 'placement_partition_number', "'two' does not convert to a number"),
        // Removed in AWS provider 6 (the provider-version change typed bindings would not show in JSON escape hatches).
        finding('aws_instance.bad', 'cpu_core_count', "unknown argument 'cpu_core_count'"),
      ]);
    });

    it('GIVEN a bad top-level layout WHEN validated THEN block names, providers, types and outputs are reported', async () => {
      expect(await findingsOf('bad-structure')).toEqual([
        finding('outputs', '-', "unknown top-level block 'outputs'"),
        finding('provider.aws[1]', '-', "duplicate provider configuration 'aws'"),
        finding('aws_vpc.main', 'provider', "provider 'aws.west' is not configured"),
        finding('aws_nat_gatewayy.x', '-', "unknown resource type 'aws_nat_gatewayy'"),
        finding('output.y', 'value', "missing required argument 'value'"),
      ]);
    });
  });

  describe('expression check', () => {
    it('GIVEN an unclosed interpolation, a broken function call and an if without endif WHEN validated THEN the HCL parser errors are reported', async () => {
      expect(await findingsOf('malformed-expression')).toEqual([
        finding('aws_subnet.a', 'vpc_id', 'Expected a closing brace'),
        finding('aws_subnet.a', 'cidr_block', 'Invalid expression'),
        finding('aws_subnet.a', 'tags.Name', 'missing its corresponding endif directive'),
      ]);
    });

    it('GIVEN references to things the stack does not declare WHEN validated THEN each is reported', async () => {
      expect(await findingsOf('undeclared-reference')).toEqual([
        finding('aws_subnet.a', 'vpc_id', "undeclared resource 'aws_vpc.other'"),
        finding('aws_subnet.a', 'cidr_block', "undeclared variable 'var.cidr'"),
        finding('aws_subnet.a', 'availability_zone', "undeclared data source 'data.aws_availability_zones.all'"),
        finding('aws_subnet.a', 'tags.Name', "undeclared local value 'local.name'"),
        finding('aws_subnet.a', 'tags.Name', "'each' is only available in a block with for_each"),
        finding('aws_subnet.a', 'ipv6_cidr_block', "undeclared module 'module.ipam'"),
      ]);
    });

    it('GIVEN a shell ${VAR:-default} left unescaped in user data WHEN validated THEN the line is named', async () => {
      expect(await findingsOf('unescaped-shell')).toEqual([
        finding('aws_instance.nat', 'user_data', "line 12 ('MODE=${NAT_MODE:-single}')"),
      ]);
    });

    it('GIVEN a shell ${HOME} left unescaped in user data WHEN validated THEN it is an undeclared reference', async () => {
      expect(await findingsOf('shell-reference')).toEqual([finding('aws_instance.nat', 'user_data', "reference to undeclared 'HOME'")]);
    });
  });

  describe('user data check', () => {
    it('GIVEN write_files permissions as a YAML number WHEN validated THEN cloud-init schema rejects it', async () => {
      expect(await findingsOf('bad-cloud-config')).toEqual([
        finding('aws_instance.nat', 'user_data', "write_files.1.permissions: 493 is not of type 'string'"),
      ]);
    });

    it('GIVEN a boot script with unquoted expansions WHEN validated THEN shellcheck problems are reported per line', async () => {
      const script = 'user_data.write_files[1](/var/lib/cloud/scripts/per-boot/boot.sh)';
      expect(await findingsOf('shellcheck-failure')).toEqual([
        finding('aws_instance.nat', script, 'line 4 col 4: note: Double quote to prevent globbing and word splitting. [SC2086]'),
        finding('aws_instance.nat', script, '[SC2045]'),
        finding('aws_instance.nat', script, 'line 5 col 25: note: Double quote to prevent globbing and word splitting. [SC2086]'),
      ]);
    });

    it('GIVEN plain user data over 16 KB WHEN validated THEN the EC2 limit is reported', async () => {
      const findings = await findingsOf('user-data-too-large');
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ address: 'aws_instance.nat', attribute: 'user_data' });
      expect(findings[0].message).toMatch(/^user data is \d+ bytes as EC2 receives it; EC2 accepts at most 16384/);
    });

    it('GIVEN the same large document in a local, shipped as base64gzip(local) WHEN validated THEN it fits and the script inside is still checked', async () => {
      const findings = await findingsOf('user-data-gzip-local');
      expect(findings.length).toBeGreaterThan(0);
      expect(findings.every((f) => f.attribute.startsWith('user_data_base64.write_files[0]') && /\[SC\d+\]/.test(f.message))).toBe(true);
    });

    it('GIVEN launch templates with base64 user data (literal and base64encode) WHEN validated THEN the decoded script is checked', async () => {
      const findings = await findingsOf('launch-template-base64');
      expect(new Set(findings.map((f) => f.address))).toEqual(new Set(['aws_launch_template.nat', 'aws_launch_template.nat_fn']));
      expect(findings.filter((f) => f.message.includes('[SC2045]'))).toHaveLength(2);
    });
  });
});

describe('renderTemplateWithSamples', () => {
  it('GIVEN escapes, interpolations with nested quotes and directives WHEN rendered THEN Terraform escapes are undone and expressions become samples', () => {
    const rendered = renderTemplateWithSamples('a=$${HOME} b=${aws_vpc.main.id} c=${join("}", ["x"])} %%{x} %{ if true }y%{ endif }');
    expect(rendered).toBe('a=${HOME} b=sample-aws_vpc.main.id c=sample-join_x_ %{x} y');
  });
});

describe('npm run validate (command line)', () => {
  it('GIVEN a fixture with findings WHEN run THEN it prints one line per finding, a summary, and exits 1', () => {
    const result = spawnSync(
      'npx',
      ['ts-node', '--transpile-only', 'scripts/validate/main.ts', '--stack-file', join(FIXTURES, 'missing-required.json')],
      {
        cwd: join(__dirname, '..', '..'),
        encoding: 'utf8',
      },
    );
    expect(result.stdout.trim().split('\n')).toEqual([
      "missing-required aws_route.default route_table_id: missing required argument 'route_table_id'",
      expect.stringMatching(/^validate: 1 stacks \(missing-required\), 2 resources and data sources, 1 findings \(/),
    ]);
    expect(result.status).toBe(1);
  });
});
