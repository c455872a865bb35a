import { TerraformStack, Testing } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { parse } from 'yaml';
import { NatInstance, NatInstanceProps } from '../../../modules/nat';
import { Network } from '../../../modules/vpc';
import { evaluateTerraformString } from './terraform-string-double';
import { InstanceBlock, userDataOf } from '../../support/user-data-of';

/** The lab VPC's layout, shared by the synthesized stack and the namespaces. */
export const LAB_LAYOUT = {
  vpcCidr: '10.8.0.0/16',
  publicSubnet: '10.8.0.0/24',
  privateSubnets: ['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24'],
} as const;

/** One `write_files` entry of the cloud-config, as cloud-init would write it. */
export interface CloudConfigFile {
  readonly path: string;
  readonly permissions: string;
  readonly content: string;
}

export interface SynthesizedNatUserData {
  /** The user data exactly as in the synthesized JSON (what Terraform is given, before it compresses it). */
  readonly raw: string;
  /** The user data as Terraform evaluates it (what the instance receives). */
  readonly evaluated: string;
  readonly files: CloudConfigFile[];
}

/** NatInstance props the lab may vary; the VPC wiring comes from the lab layout. */
export type LabNatProps = Partial<Omit<NatInstanceProps, 'vpcId' | 'publicSubnet' | 'privateSubnets' | 'routeTableIds'>>;

/**
 * Synthesizes, in-process, a stack with the real Network and NatInstance constructs laid out
 * like the lab VPC, and returns the NAT instance's user data read back from the synthesized
 * JSON, evaluated as Terraform would, and parsed as cloud-init would.
 */
export function synthesizeNatUserData(props: LabNatProps = {}): SynthesizedNatUserData {
  const stack = new TerraformStack(Testing.app(), 'nat-lab');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  const network = new Network(stack, 'network', {
    cidr: LAB_LAYOUT.vpcCidr,
    azs: ['eu-central-1a', 'eu-central-1b'],
    publicSubnets: [LAB_LAYOUT.publicSubnet],
    privateSubnets: [...LAB_LAYOUT.privateSubnets],
    privateRouteTables: 'per-az',
  });
  new NatInstance(stack, 'nat', {
    amiId: 'ami-0123456789abcdef0',
    vpcId: network.vpcId,
    publicSubnet: network.publicSubnets[0],
    privateSubnets: network.privateSubnets,
    routeTableIds: network.privateRouteTableIds,
    ...props,
  });
  const json = JSON.parse(Testing.synth(stack, true)) as {
    locals?: Record<string, unknown>;
    resource?: Record<string, Record<string, InstanceBlock>>;
  };
  const instances = Object.values(json.resource?.aws_instance ?? {});
  if (instances.length !== 1) throw new Error(`expected one aws_instance in the synthesized stack, found ${instances.length}`);
  const raw = userDataOf(json, instances[0]);
  const evaluated = evaluateTerraformString(raw);
  return { raw, evaluated, files: parseCloudConfigFiles(evaluated) };
}

/**
 * User data as an instance receives it, already rendered by Terraform (e.g. read back from the
 * emulated EC2 API after `terraform apply`): `raw` and `evaluated` are that text.
 */
export function deliveredNatUserData(text: string): SynthesizedNatUserData {
  return { raw: text, evaluated: text, files: parseCloudConfigFiles(text) };
}

/** Reads `write_files` from a `#cloud-config` document the way cloud-init does (content, path, permissions). */
export function parseCloudConfigFiles(userData: string): CloudConfigFile[] {
  if (!userData.startsWith('#cloud-config\n')) throw new Error('user data is not a #cloud-config document');
  const document = parse(userData) as { write_files?: Array<{ path: string; permissions?: string; content?: string; encoding?: string }> };
  const entries = document.write_files ?? [];
  return entries.map((entry) => {
    if (entry.encoding) throw new Error(`write_files ${entry.path}: encoding '${entry.encoding}' is not handled by the lab`);
    return { path: entry.path, permissions: entry.permissions ?? '0644', content: entry.content ?? '' };
  });
}
