/**
 * A root configuration as an HCL user writes it around the synthesized `nat-module`: a provider
 * (pointed at the emulator), a small VPC of its own, and one `module` block per NAT under test.
 * Written as `main.tf.json` next to a byte-for-byte copy of the module.
 */
import { execFileSync } from 'child_process';
import { MotoServer, MOTO_REGION } from '../support/moto';
import { emulatorProviderSettings, TESTED_AWS_PROVIDER, TerraformWorkspace } from '../support/terraform';
import { SynthesizedStacks } from './synthesized-stacks';

/** Where the module is copied inside the workspace. */
export const MODULE_SOURCE = './nat-module';

/** The VPC the root configuration creates for the NATs: one public and one private subnet, one route table per NAT. */
const NETWORK = {
  aws_vpc: { lab: { cidr_block: '10.8.0.0/16' } },
  aws_internet_gateway: { lab: { vpc_id: '${aws_vpc.lab.id}' } },
  aws_subnet: {
    public: { vpc_id: '${aws_vpc.lab.id}', cidr_block: '10.8.0.0/24', availability_zone: `${MOTO_REGION}a` },
    private: { vpc_id: '${aws_vpc.lab.id}', cidr_block: '10.8.1.0/24', availability_zone: `${MOTO_REGION}a` },
  },
};

/**
 * A workspace holding the module and a root configuration calling it once per entry of `nats`
 * (module name → extra inputs); each NAT gets its own route table. Outputs `<name>_public_ips`
 * and `<name>_instance_id` for every NAT.
 */
export function moduleRootWorkspace(label: string, stacks: SynthesizedStacks, moto: MotoServer, nats: Record<string, Record<string, unknown>>): TerraformWorkspace {
  const names = Object.keys(nats);
  const root = {
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: TESTED_AWS_PROVIDER } } },
    provider: { aws: emulatorProviderSettings(moto.endpoint) },
    resource: {
      ...NETWORK,
      aws_route_table: Object.fromEntries(names.map((name) => [name, { vpc_id: '${aws_vpc.lab.id}' }])),
    },
    module: Object.fromEntries(
      names.map((name) => [
        name,
        {
          source: MODULE_SOURCE,
          name: `nat-${name}`,
          vpc_id: '${aws_vpc.lab.id}',
          public_subnet_id: '${aws_subnet.public.id}',
          private_subnet_ids: ['${aws_subnet.private.id}'],
          route_table_ids: [`\${aws_route_table.${name}.id}`],
          // As on AWS: an Elastic IP can only be associated in a VPC with an internet gateway.
          depends_on: ['aws_internet_gateway.lab'],
          ...nats[name],
        },
      ]),
    ),
    output: Object.fromEntries(
      names.flatMap((name) => [
        [`${name}_public_ips`, { value: `\${module.${name}.public_ips}` }],
        [`${name}_instance_id`, { value: `\${module.${name}.instance_id}` }],
      ]),
    ),
  };
  return new TerraformWorkspace(label).copyFrom(stacks.directory('nat-module'), MODULE_SOURCE).write('main.tf.json', root);
}

/** The AWS CLI against the emulator, decoded from JSON. */
export function awsCli(moto: MotoServer, args: string[]): any {
  const output = execFileSync('aws', [...args, '--output', 'json'], { encoding: 'utf8', env: { ...process.env, ...moto.clientEnv }, timeout: 60_000 });
  return output.trim() === '' ? {} : JSON.parse(output);
}
