/**
 * Every difference between what users deploy and what the real-Terraform suite applies, and every
 * way the emulator (moto 5.2) answers unlike AWS, each named:
 * - EMULATOR WORK-AROUND: an override file (`*_override.tf.json`, merged by Terraform over the
 *   configuration: https://developer.hashicorp.com/terraform/language/files/override) written
 *   next to the synthesized JSON, which stays byte for byte;
 * - EMULATOR DIFFERENCE: nothing is changed; the read-back checks accept exactly this difference;
 * - EMULATOR LIMITATION: resources the emulator cannot run are planned but left out of the apply.
 * The test set-up (endpoints, test credentials, state location) is also an override file.
 * Nothing here changes what the constructs emit.
 * One work-around lives in the emulator itself, because no configuration can express it: moto
 * forgets an interface's attachment at detach, where AWS reports it `detached`, and the provider
 * polls for that status for about 2.5 minutes per dual-mode NAT destroyed
 * (EMULATOR WORK-AROUND in test/support/moto_server_for_tests.py, which every test's moto runs).
 */
import { awsCli } from '../support/aws-cli';
import { emulatorProviderSettings, TerraformWorkspace } from '../support/terraform';
import type { PlannedChange } from './emulated-deployment';

/** A resource block of a synthesized `cdk.tf.json`, as far as the work-arounds read it. */
type ResourceBlocks = Record<string, Record<string, Record<string, unknown>>>;

/**
 * Not a work-around but the test set-up itself: the provider talks to the emulator with test
 * credentials. Provider blocks merge, so the stack's region and default tags stay.
 */
export function emulatorProviderOverride(endpoint: string): { file: string; content: object } {
  return { file: 'emulator_provider_override.tf.json', content: { provider: { aws: [emulatorProviderSettings(endpoint)] } } };
}

/**
 * Test set-up: state stays in the workspace. cdktf writes its default local backend with an
 * absolute path into the project directory, which every test (and a developer's own
 * `cdktf deploy`) would share. A stack with an S3 backend gets the emulator's S3 instead.
 */
export function workspaceBackendOverride(
  json: { terraform?: { backend?: Record<string, unknown> } },
  endpoint: string,
): { file: string; content: object } {
  const s3 = json.terraform?.backend?.s3 as Record<string, unknown> | undefined;
  const backend = s3
    ? {
        s3: {
          ...s3,
          endpoints: { s3: endpoint, sts: endpoint, iam: endpoint },
          use_path_style: true,
          skip_credentials_validation: true,
          skip_requesting_account_id: true,
          skip_metadata_api_check: true,
          skip_region_validation: true,
        },
      }
    : { local: { path: 'terraform.tfstate' } };
  return { file: 'emulator_backend_override.tf.json', content: { terraform: { backend } } };
}

/**
 * EMULATOR WORK-AROUND "S3 state under IAM enforcement": with enforcement on, moto's S3 checks
 * signatures against a canonical query string it encodes differently, so any request whose query
 * holds an escaped character (`prefix=env%3A%2F`, which the S3 backend lists at every init) fails
 * with SignatureDoesNotMatch, whoever signs it. The state stays local (this override replaces the
 * S3 backend); the test makes the backend's object calls on the state key itself, as the same user.
 */
export function localStateUnderIamEnforcement(): { file: string; content: object } {
  return { file: 'emulator_backend_override.tf.json', content: { terraform: { backend: { local: { path: 'terraform.tfstate' } } } } };
}

/** The size the work-around below gives: that of the Amazon Linux 2023 image's snapshot. */
export const EMULATOR_ROOT_VOLUME_SIZE_GIB = 8;

/**
 * EMULATOR WORK-AROUND "root volume size": moto's RunInstances answers `MissingParameter: The
 * request must contain the parameter size or snapshotId` when the block device mapping names no
 * size, where AWS takes the size from the AMI's snapshot. Instances whose `root_block_device`
 * sets none (the private test instances) get that size here.
 * An override replaces the whole nested block, so the original settings are copied into it.
 * Returns undefined when every instance already sets a size (nothing to work around).
 */
export function rootVolumeSizeWorkaround(json: { resource?: ResourceBlocks }): { file: string; content: object } | undefined {
  const instances = Object.entries(json.resource?.aws_instance ?? {});
  const overrides: Record<string, object> = {};
  for (const [name, instance] of instances) {
    const original = instance.root_block_device;
    const block = (Array.isArray(original) ? original[0] : (original ?? {})) as Record<string, unknown>;
    if (block.volume_size !== undefined) continue;
    overrides[name] = { root_block_device: { ...block, volume_size: EMULATOR_ROOT_VOLUME_SIZE_GIB } };
  }
  if (Object.keys(overrides).length === 0) return undefined;
  return { file: 'emulator_workaround_root_volume_size_override.tf.json', content: { resource: { aws_instance: overrides } } };
}

/**
 * EMULATOR WORK-AROUND "CodeBuild source location": moto's CreateProject answers `Project source
 * location is required` for a `CODEPIPELINE` source or artifacts, which AWS creates without one (the
 * pipeline hands the source over; a location would be ignored). Such blocks get a placeholder
 * location; the original settings are copied, since an override replaces a whole nested block.
 */
export const EMULATOR_CODEBUILD_LOCATION = 'emulator-workaround-codepipeline-location';

export function codeBuildLocationWorkaround(json: { resource?: ResourceBlocks }): { file: string; content: object } | undefined {
  const overrides: Record<string, object> = {};
  for (const [name, project] of Object.entries(json.resource?.aws_codebuild_project ?? {})) {
    const patched: Record<string, object> = {};
    for (const blockName of ['source', 'artifacts']) {
      const original = project[blockName];
      const block = (Array.isArray(original) ? original[0] : original) as Record<string, unknown> | undefined;
      if (block?.type === 'CODEPIPELINE' && block.location === undefined)
        patched[blockName] = { ...block, location: EMULATOR_CODEBUILD_LOCATION };
    }
    if (Object.keys(patched).length > 0) overrides[name] = patched;
  }
  if (Object.keys(overrides).length === 0) return undefined;
  return { file: 'emulator_workaround_codebuild_location_override.tf.json', content: { resource: { aws_codebuild_project: overrides } } };
}

/**
 * EMULATOR LIMITATION "CodePipeline read-back": moto creates the pipeline, but its GetPipeline
 * answer carries `metadata.created` as a string where the API returns a number, and the provider's
 * SDK refuses it ("expected Timestamp to be a JSON Number"): the resource could be planned and
 * created but never read, so neither apply nor destroy could finish. Resources of these types are
 * validated and planned with the rest, and left out of the apply (`-target` on all others).
 * (moto has no CodeConnections either: the pipeline test names an existing connection.)
 */
export const EMULATOR_UNSUPPORTED_RESOURCE_TYPES: readonly string[] = ['aws_codepipeline', 'aws_codestarconnections_connection'];

/**
 * EMULATOR DIFFERENCE "CodeBuild delete by ARN": the provider deletes a project by its ID, the
 * project's ARN, which AWS accepts as the name; moto looks the ARN up as a name, finds nothing
 * and answers success. Destroy completes and the state is empty, but moto still lists the
 * project: the leftover check expects exactly these.
 */
export function projectsKeptAfterDeleteByArn(json: { resource?: ResourceBlocks }): string[] {
  return Object.values(json.resource?.aws_codebuild_project ?? {})
    .map((project) => project.name)
    .filter((name): name is string => typeof name === 'string')
    .sort();
}

/** `-target` arguments for every resource of the JSON the emulator supports; none when it supports them all. */
export function supportedTargets(json: { resource?: ResourceBlocks }): string[] {
  const all = Object.entries(json.resource ?? {}).flatMap(([type, blocks]) =>
    Object.keys(blocks).map((name) => ({ type, address: `${type}.${name}` })),
  );
  const supported = all.filter(({ type }) => !EMULATOR_UNSUPPORTED_RESOURCE_TYPES.includes(type));
  return supported.length === all.length ? [] : supported.map(({ address }) => `-target=${address}`);
}

/** Every work-around the stack's JSON needs (override files), each named above. */
export function emulatorWorkarounds(json: { resource?: ResourceBlocks }): Array<{ file: string; content: object }> {
  return [rootVolumeSizeWorkaround(json), codeBuildLocationWorkaround(json)].filter((w): w is NonNullable<typeof w> => w !== undefined);
}

/**
 * EMULATOR DIFFERENCE "instances launched with an interface specification". An instance that
 * sets `associate_public_ip_address` (all of ours do) is launched by the provider with a
 * network-interface specification; moto then reads it back unlike AWS:
 * - the primary interface's `Association` is an empty object, which the provider reads as a public
 *   address: `associate_public_ip_address` becomes true (a replacement where we asked for false);
 * - the security groups are listed on the interface but not on the instance:
 *   `vpc_security_group_ids` reads back empty (an in-place update);
 * - the primary interface is kept when the instance terminates (AWS deletes it with the instance).
 * Nothing is overridden for it: the checks below accept exactly these differences and no other.
 */
export const INSTANCE_READBACK_DRIFT: ReadonlySet<string> = new Set(['associate_public_ip_address', 'vpc_security_group_ids']);

/**
 * EMULATOR DIFFERENCE "primary interface source/destination check": on AWS an instance's
 * `sourceDestCheck` attribute is its primary interface's; moto keeps the two apart, so a
 * single-mode NAT (check off on the instance) shows an interface with the check on. The read-back
 * takes the instance attribute for the primary interface, and the interface's own for any other.
 */

/** One resource a plan would change, and the attributes that make it change. */
export interface Drift {
  readonly address: string;
  readonly actions: string;
  readonly attributes: string[];
}

/**
 * EMULATOR DIFFERENCE "launch template tag read-back": moto copies a launch template's own tags
 * into its launch data, as a `tag_specifications` entry of resource type `launch-template` (AWS
 * keeps them on the template; the data holds only the specifications asked for). The provider
 * reads that entry back, so a second plan would remove it: an update of the template (its version
 * numbers become unknown), whose new version its Auto Scaling group then follows (the group's
 * `launch_template.version` becomes unknown). Nothing is overridden; `isEmulatorLaunchTemplateReadBack`
 * accepts exactly these two updates, checked on the plan's values, and no other change.
 */
export const LAUNCH_TEMPLATE_EMULATOR_TAG_SPECIFICATION = 'launch-template';

/** Whether a planned change is the launch template tag read-back (above), on a template or on its group, and nothing more. */
export function isEmulatorLaunchTemplateReadBack(planned: PlannedChange): boolean {
  const { actions, before, after, after_unknown: unknown } = planned.change;
  if (actions.join() !== 'update' || !before || !after) return false;
  if (/(^|\.)aws_launch_template\./.test(planned.address)) {
    if (unknownPaths(unknown).join() !== 'default_version,latest_version') return false;
    const specs = (before.tag_specifications ?? []) as Array<{ resource_type?: string }>;
    const added = specs.filter((spec) => spec.resource_type === LAUNCH_TEMPLATE_EMULATOR_TAG_SPECIFICATION);
    const kept = { ...before, tag_specifications: specs.filter((spec) => !added.includes(spec)) };
    return added.length > 0 && sameKnownValues(kept, after, unknown);
  }
  if (/(^|\.)aws_autoscaling_group\./.test(planned.address)) {
    return unknownPaths(unknown).join() === 'launch_template.0.version' && sameKnownValues(before, after, unknown);
  }
  return false;
}

/** The paths (`a.0.b`) a plan marks unknown after the change, sorted. */
function unknownPaths(unknown: unknown, prefix = ''): string[] {
  if (unknown === true) return [prefix];
  if (!unknown || typeof unknown !== 'object') return [];
  return Object.entries(unknown)
    .flatMap(([key, value]) => unknownPaths(value, prefix ? `${prefix}.${key}` : key))
    .sort();
}

/**
 * Whether two values agree everywhere except where the plan marks the new value unknown. An empty
 * string and null count as equal: the provider (SDK v2) reads some unset strings back as one and
 * plans the other, which Terraform itself shows as no change.
 */
function sameKnownValues(before: unknown, after: unknown, unknown: unknown): boolean {
  const masked = (value: unknown, mask: unknown): unknown => {
    if (mask === true) return '(unknown)';
    if (Array.isArray(value)) return value.map((item, i) => masked(item, (mask as unknown[] | undefined)?.[i]));
    if (value && typeof value === 'object') {
      const unknownKeys = Object.entries((mask ?? {}) as Record<string, unknown>)
        .filter(([, m]) => m === true)
        .map(([key]) => key);
      const keys = [...new Set([...Object.keys(value), ...unknownKeys])].sort();
      return Object.fromEntries(
        keys.map((key) => [key, masked((value as Record<string, unknown>)[key], (mask as Record<string, unknown>)?.[key])]),
      );
    }
    return value === '' ? null : value;
  };
  return JSON.stringify(masked(before, unknown)) === JSON.stringify(masked(after, unknown));
}

/** Whether a drift is the emulator's instance read-back (above) and nothing more. */
export function isEmulatorInstanceDrift(drift: Drift): boolean {
  return (
    /(^|\.)aws_instance\./.test(drift.address) &&
    drift.attributes.length > 0 &&
    drift.attributes.every((a) => INSTANCE_READBACK_DRIFT.has(a))
  );
}

/**
 * Of the network interfaces left after a destroy, the primary interfaces of terminated instances
 * (the emulator's, see above); what remains is a real leftover.
 */
export function withoutKeptPrimaryInterfaces(env: Record<string, string>, interfaceIds: string[]): string[] {
  if (interfaceIds.length === 0) return [];
  const interfaces = awsCli<{ NetworkInterfaces: any[] }>(env, [
    'ec2',
    'describe-network-interfaces',
    '--network-interface-ids',
    ...interfaceIds,
  ]).NetworkInterfaces;
  const instanceIds = [...new Set(interfaces.map((nic) => nic.Attachment?.InstanceId).filter(Boolean))] as string[];
  const terminated = new Set(
    instanceIds.length === 0
      ? []
      : awsCli<{ Reservations: any[] }>(env, ['ec2', 'describe-instances', '--instance-ids', ...instanceIds])
          .Reservations.flatMap((reservation) => reservation.Instances)
          .filter((instance) => instance.State.Name === 'terminated')
          .map((instance) => instance.InstanceId),
  );
  const kept = new Set(
    interfaces
      .filter((nic) => nic.Attachment?.DeviceIndex === 0 && terminated.has(nic.Attachment.InstanceId))
      .map((nic) => nic.NetworkInterfaceId),
  );
  return interfaceIds.filter((id) => !kept.has(id));
}

/**
 * EMULATOR DIFFERENCE "device-0 interface of a terminated instance": a NAT with several public
 * addresses launches with a network interface of its own as device 0. On AWS the interface is
 * detached when the instance terminates and `terraform destroy` then deletes it; moto keeps it
 * attached and refuses to detach it ("device index 0 … cannot be detached"). Destroy runs; when it
 * stops on exactly that, those interfaces are dropped from the state (nothing else) and destroy
 * runs again for what waited on them (their group, subnet and VPC).
 */
export function destroyOnEmulator(workspace: TerraformWorkspace): void {
  const first = workspace.run(['destroy', '-auto-approve', '-input=false', '-no-color'], { check: false });
  if (first.code === 0) return;
  if (!/device index 0 and networkCard index 0 cannot be detached/.test(first.stderr))
    throw new Error(`terraform destroy failed:\n${first.stderr}`);
  const interfaces = workspace
    .resources()
    .filter((resource) => resource.type === 'aws_network_interface')
    .map((resource) => resource.address);
  workspace.run(['state', 'rm', ...interfaces]);
  workspace.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
}

/**
 * EMULATOR DIFFERENCE "Elastic IP on a secondary private address": moto's AssociateAddress ignores
 * `PrivateIpAddress` and associates the address with the interface's primary private address. The
 * read-back checks what Terraform asked EC2 for (`associate_with_private_ip` in the state) and the
 * interface the address is on, not the private address the emulator reports.
 */
