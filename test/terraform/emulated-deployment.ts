/**
 * The real-Terraform suite's deployment steps against the emulated AWS API: a workspace holding a
 * synthesized stack byte for byte plus override files, an inventory of what exists in the
 * emulator (read with the real AWS CLI, independently of Terraform's state), and a bounded
 * destroy that says what was left when it fails.
 */
import { awsCli } from '../support/aws-cli';
import { MotoServer } from '../support/moto';
import { TerraformResult, TerraformRunOptions, TerraformWorkspace } from '../support/terraform';
import {
  Drift,
  emulatorProviderOverride,
  emulatorWorkarounds,
  withoutKeptPrimaryInterfaces,
  workspaceBackendOverride,
} from './emulator-workarounds';

export interface StackWorkspace {
  readonly workspace: TerraformWorkspace;
  /** The override files of emulator work-arounds this stack needed (each named in emulator-workarounds.ts). */
  readonly workarounds: string[];
}

/** A workspace with the stack's directory, the emulator's provider settings and the work-arounds the JSON needs. */
export function stackWorkspace(label: string, stackDirectory: string, json: Record<string, any>, moto: MotoServer): StackWorkspace {
  const workspace = new TerraformWorkspace(label).copyFrom(stackDirectory);
  for (const setup of [emulatorProviderOverride(moto.endpoint), workspaceBackendOverride(json, moto.endpoint)])
    workspace.write(setup.file, setup.content);
  const workarounds = emulatorWorkarounds(json);
  for (const workaround of workarounds) workspace.write(workaround.file, workaround.content);
  return { workspace, workarounds: workarounds.map((w) => w.file) };
}

/**
 * The end of a suite sharing one deployment: a failed step must not leave the emulator (or a hung
 * provider) behind, so whatever the state still holds is destroyed, bounded and best effort.
 */
export async function tearDown(deployment: { workspace?: TerraformWorkspace; destroyed: boolean; moto?: MotoServer }): Promise<void> {
  const { workspace, destroyed, moto } = deployment;
  try {
    if (workspace && !destroyed && workspace.stateList().length > 0) destroy(workspace, 300_000);
  } finally {
    workspace?.remove();
    await moto?.stop();
  }
}

/** `terraform init`, then `terraform validate -json`: init's output and what validate found. */
export function initAndValidate(workspace: TerraformWorkspace): { init: string; validate: { valid: boolean; error_count: number } } {
  const init = workspace.init().stdout;
  return { init, validate: JSON.parse(workspace.run(['validate', '-json'], { check: false }).stdout) };
}

/**
 * `terraform plan -out=tfplan -detailed-exitcode` of a stack not yet applied: the plan's exit code
 * and stderr, the addresses it changes and the JSON's managed resources (both sorted), and whether
 * every change is a create. `tfplan` is then what applySavedPlan applies.
 */
export function planFirstDeployment(
  workspace: TerraformWorkspace,
  json: Record<string, any>,
): { code: number; stderr: string; planned: string[]; managed: string[]; onlyCreates: boolean } {
  const plan = workspace.run(['plan', '-input=false', '-no-color', '-out=tfplan', '-detailed-exitcode'], { check: false });
  // Every change the plan lists, no-ops and reads included: a first deployment has only creates.
  const changes =
    plan.code === 2
      ? ((JSON.parse(workspace.run(['show', '-json', 'tfplan']).stdout) as { resource_changes?: PlannedChange[] }).resource_changes ?? [])
      : [];
  const managed = Object.entries(json.resource as Record<string, Record<string, unknown>>).flatMap(([type, blocks]) =>
    Object.keys(blocks).map((name) => `${type}.${name}`),
  );
  return {
    code: plan.code,
    stderr: plan.stderr,
    planned: changes.map((change) => change.address).sort(),
    managed: managed.sort(),
    onlyCreates: changes.every((change) => change.change.actions.join() === 'create'),
  };
}

/** `terraform apply` of the plan planFirstDeployment saved. */
export function applySavedPlan(workspace: TerraformWorkspace): TerraformResult {
  return workspace.run(['apply', '-input=false', '-no-color', 'tfplan'], { check: false });
}

/** What exists in the emulator, by kind: IDs and names, sorted. */
export type Inventory = Record<string, string[]>;

/** One listing call per kind, with the `--query` that selects the IDs. */
const LISTINGS: Record<string, string[]> = {
  vpcs: ['ec2', 'describe-vpcs', '--query', 'Vpcs[].VpcId'],
  subnets: ['ec2', 'describe-subnets', '--query', 'Subnets[].SubnetId'],
  'route tables': ['ec2', 'describe-route-tables', '--query', 'RouteTables[].RouteTableId'],
  'security groups': ['ec2', 'describe-security-groups', '--query', 'SecurityGroups[].GroupId'],
  'network interfaces': ['ec2', 'describe-network-interfaces', '--query', 'NetworkInterfaces[].NetworkInterfaceId'],
  'elastic IPs': ['ec2', 'describe-addresses', '--query', 'Addresses[].AllocationId'],
  'internet gateways': ['ec2', 'describe-internet-gateways', '--query', 'InternetGateways[].InternetGatewayId'],
  // A deleted endpoint stays listed for a while in state "deleted", on AWS as in moto.
  'VPC endpoints': ['ec2', 'describe-vpc-endpoints', '--query', "VpcEndpoints[?State!='deleted'].VpcEndpointId"],
  // Terminated instances stay listed for a while, on AWS as in moto: only the others count.
  'instances not terminated': [
    'ec2',
    'describe-instances',
    '--filters',
    'Name=instance-state-name,Values=pending,running,stopping,stopped,shutting-down',
    '--query',
    'Reservations[].Instances[].InstanceId',
  ],
  'IAM roles': ['iam', 'list-roles', '--query', 'Roles[].RoleName'],
  'IAM instance profiles': ['iam', 'list-instance-profiles', '--query', 'InstanceProfiles[].InstanceProfileName'],
  'IAM customer policies': ['iam', 'list-policies', '--scope', 'Local', '--query', 'Policies[].PolicyName'],
  'S3 buckets': ['s3api', 'list-buckets', '--query', 'Buckets[].Name'],
  'SSM documents': ['ssm', 'list-documents', '--filters', 'Key=Owner,Values=Self', '--query', 'DocumentIdentifiers[].Name'],
  'CloudWatch log groups': ['logs', 'describe-log-groups', '--query', 'logGroups[].logGroupName'],
  'CodeBuild projects': ['codebuild', 'list-projects', '--query', 'projects'],
  'CodePipeline pipelines': ['codepipeline', 'list-pipelines', '--query', 'pipelines[].name'],
  'launch templates': ['ec2', 'describe-launch-templates', '--query', 'LaunchTemplates[].LaunchTemplateId'],
  'Auto Scaling groups': ['autoscaling', 'describe-auto-scaling-groups', '--query', 'AutoScalingGroups[].AutoScalingGroupName'],
  // Not the public parameters under /aws/ (the emulator lists the AMI IDs it serves once something reads one).
  'SSM parameters': ['ssm', 'describe-parameters', '--query', "Parameters[?!starts_with(Name, '/aws/')].Name"],
};

/** The EC2 and IAM kinds: what nat-example and the module create. */
export const NETWORK_AND_IAM_KINDS = Object.keys(LISTINGS).slice(0, 11);
/** What a self-healing NAT or a NatGroup adds: launch templates, Auto Scaling groups, heartbeat parameters. */
export const SELF_HEALING_KINDS = ['launch templates', 'Auto Scaling groups', 'SSM parameters'];
export const ALL_KINDS = Object.keys(LISTINGS);

/** Lists every kind in the emulator through the real AWS CLI. */
export function inventory(moto: MotoServer, kinds: string[] = NETWORK_AND_IAM_KINDS): Inventory {
  return Object.fromEntries(kinds.map((kind) => [kind, [...(awsCli<string[] | null>(moto.clientEnv, LISTINGS[kind]) ?? [])].sort()]));
}

/** What `after` holds that `before` does not, by kind (kinds without news left out). */
export function added(before: Inventory, after: Inventory): Inventory {
  return Object.fromEntries(
    Object.entries(after)
      .map(([kind, ids]) => [kind, ids.filter((id) => !(before[kind] ?? []).includes(id))] as const)
      .filter(([, ids]) => ids.length > 0),
  );
}

/** `terraform destroy`, bounded; throws with Terraform's output and what the state still holds when it fails. */
export function destroy(workspace: TerraformWorkspace, timeoutMs = 420_000, options: TerraformRunOptions = {}): TerraformResult {
  let result: TerraformResult;
  try {
    result = workspace.run(['destroy', '-auto-approve', '-input=false', '-no-color'], { ...options, check: false, timeoutMs });
  } catch (error) {
    throw new Error(`${(error as Error).message}\nThe state still holds: ${workspace.stateList(options).join(', ')}`);
  }
  if (result.code !== 0) {
    throw new Error(
      `terraform destroy exited ${result.code}; the state still holds: ${workspace.stateList(options).join(', ')}\n${result.stderr}\n${result.stdout.slice(-3000)}`,
    );
  }
  return result;
}

/** What a fresh plan would change after an apply (empty: the deployment matches its configuration). */
export function planDrift(workspace: TerraformWorkspace): Drift[] {
  const plan = workspace.run(['plan', '-input=false', '-no-color', '-out=drift.tfplan'], { timeoutMs: 300_000 });
  if (plan.stdout.includes('No changes.')) return [];
  const shown = JSON.parse(workspace.run(['show', '-json', 'drift.tfplan']).stdout) as { resource_changes?: PlannedChange[] };
  return (shown.resource_changes ?? [])
    .filter((change) => !['no-op', 'read'].includes(change.change.actions.join()))
    .map((change) => ({
      address: change.address,
      actions: change.change.actions.join(','),
      attributes: changedAttributes(change),
    }));
}

/** One resource change of `terraform show -json <plan>`. */
export interface PlannedChange {
  readonly address: string;
  readonly change: {
    readonly actions: string[];
    readonly before: Record<string, unknown> | null;
    readonly after: Record<string, unknown> | null;
    readonly after_unknown?: Record<string, unknown>;
    readonly replace_paths?: unknown[][];
  };
}

/** The changes (not no-ops, not reads) of a saved plan, e.g. `drift.tfplan` after planDrift, as Terraform shows them. */
export function plannedChanges(workspace: TerraformWorkspace, planFile: string): PlannedChange[] {
  const shown = JSON.parse(workspace.run(['show', '-json', planFile]).stdout) as { resource_changes?: PlannedChange[] };
  return (shown.resource_changes ?? []).filter((change) => !['no-op', 'read'].includes(change.change.actions.join()));
}

/** A replacement's cause (`replace_paths`), or the attributes an update changes to known values. */
function changedAttributes({ change }: PlannedChange): string[] {
  if (change.replace_paths?.length) return [...new Set(change.replace_paths.map((path) => String(path[0])))].sort();
  const before = change.before ?? {};
  const after = change.after ?? {};
  return Object.keys(after)
    .filter((key) => !change.after_unknown?.[key] && JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .sort();
}

/**
 * What the emulator holds now that it did not hold at `before`, by kind: empty after a clean
 * destroy. The primary interfaces moto keeps after their instances terminate are not counted
 * (see INSTANCE_READBACK_DRIFT); every other interface is.
 */
export function leftovers(moto: MotoServer, before: Inventory, kinds?: string[]): Inventory {
  const news = added(before, inventory(moto, kinds));
  const interfaces = withoutKeptPrimaryInterfaces(moto.clientEnv, news['network interfaces'] ?? []);
  const { ['network interfaces']: _all, ...others } = news;
  return interfaces.length > 0 ? { ...others, 'network interfaces': interfaces } : others;
}
