/**
 * The nat-module applied and destroyed with the real Terraform CLI and AWS provider against the
 * emulated API, as an HCL user calls it (test/terraform/module-root.ts). One apply serves every
 * test below, which run in order: what the apply made, then what destroy leaves.
 *
 * GIVEN an Elastic IP allocated outside Terraform (the AWS CLI), an SNS topic, and the module
 *   called twice: `owned` with that allocation in `eip_allocation_ids`, `public_ip_count = 2` and the
 *   topic for its alarms; `plain` with the metrics publisher and every alarm switched off
 * WHEN terraform applies, then destroys
 * THEN `owned`'s public interface is one of its own with a secondary private address, the owned
 *   address on the interface's primary address and a created one on the secondary; its four alarms
 *   watch the instance and the published metrics, recover and reboot through EC2's actions and tell
 *   the topic; its role may publish metrics to its namespace only; `plain` has no alarm and no
 *   metrics policy. After destroy the owned address still exists (only its association is gone)
 *   while the addresses the NATs created are released (the control that shows destroy releases what
 *   Terraform allocated), and no alarm is left.
 */
import { startMoto, MotoServer, MOTO_REGION } from '../support/moto';
import { TerraformWorkspace } from '../support/terraform';
import { synthesizeStacks } from './synthesized-stacks';
import { moduleRootWorkspace } from './module-root';
import { destroyOnEmulator } from './emulator-workarounds';
import { awsCli as awsCliWith } from '../support/aws-cli';
import { METRICS_NAMESPACE } from '../../modules/nat/metrics-settings';

jest.setTimeout(600_000);

interface Address {
  readonly AllocationId: string;
  readonly PublicIp: string;
  readonly NetworkInterfaceId?: string;
  readonly AssociationId?: string;
}

interface Alarm {
  readonly AlarmName: string;
  readonly Namespace: string;
  readonly MetricName: string;
  readonly Dimensions: Array<{ Name: string; Value: string }>;
  readonly AlarmActions: string[];
  readonly OKActions: string[];
}

const stacks = synthesizeStacks();
let moto: MotoServer;
let workspace: TerraformWorkspace;
let owned: Address;
let outputs: Record<string, unknown>;
const awsCli = (server: MotoServer, args: string[]): any => awsCliWith(server.clientEnv, args);

beforeAll(async () => {
  moto = await startMoto();
  owned = awsCli(moto, ['ec2', 'allocate-address', '--domain', 'vpc']) as Address;
  const off = false;
  workspace = moduleRootWorkspace(
    'module-apply',
    stacks,
    moto,
    {
      owned: { eip_allocation_ids: [owned.AllocationId], public_ip_count: 2, alarm_topic_arn: '${aws_sns_topic.alarms.arn}' },
      plain: {
        metrics: off,
        alarm_recover_on_system_failure: off,
        alarm_reboot_on_instance_failure: off,
        alarm_egress_probe: off,
        alarm_connection_tracking: off,
      },
    },
    { aws_sns_topic: { alarms: { name: 'nat-alarms' } } },
  );
  workspace.init();
  workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);
  outputs = workspace.outputs();
});

afterAll(async () => {
  workspace?.remove();
  await moto?.stop();
});

function addresses(): Address[] {
  return awsCli(moto, ['ec2', 'describe-addresses']).Addresses as Address[];
}

function alarms(prefix: string): Alarm[] {
  return (awsCli(moto, ['cloudwatch', 'describe-alarms', '--alarm-name-prefix', prefix]).MetricAlarms as Alarm[]) ?? [];
}

test('THEN the owned NAT carries the owned address on its primary private address and a created one on the secondary', () => {
  const ownedIps = outputs.owned_public_ips as string[];
  expect(ownedIps).toHaveLength(2);
  expect(ownedIps[0]).toBe(owned.PublicIp);
  const instance = awsCli(moto, ['ec2', 'describe-instances', '--instance-ids', String(outputs.owned_instance_id)]).Reservations[0]
    .Instances[0];
  const primary = instance.NetworkInterfaces.find((nic: any) => nic.Attachment.DeviceIndex === 0);
  const privateIps = (primary.PrivateIpAddresses as Array<{ PrivateIpAddress: string; Primary: boolean }>).sort(
    (a, b) => Number(b.Primary) - Number(a.Primary),
  );
  expect(privateIps.map((address) => address.Primary)).toEqual([true, false]);
  const afterApply = addresses();
  expect(afterApply.find((address) => address.AllocationId === owned.AllocationId)).toMatchObject({
    NetworkInterfaceId: primary.NetworkInterfaceId,
  });
  expect(afterApply.find((address) => address.PublicIp === ownedIps[1])).toMatchObject({ NetworkInterfaceId: primary.NetworkInterfaceId });
  // What Terraform asked EC2 for: the secondary private address (emulator-workarounds.ts,
  // "Elastic IP on a secondary private address": the emulator's own answer cannot tell).
  const created = workspace.resources().find((resource) => resource.address.startsWith('module.owned.aws_eip.'));
  expect(created?.values.associate_with_private_ip).toBe(privateIps[1].PrivateIpAddress);
  // Applied as planned: a second plan changes no address, association, interface or alarm (the
  // emulator's own drift in the instance's security-group list is not the subject here).
  const replan = workspace.run(['plan', '-input=false', '-no-color']).stdout;
  expect(replan).not.toMatch(/aws_(eip|eip_association|network_interface|cloudwatch_metric_alarm)\.[\w-]+(\[\d+\])? (will|must) be/);
});

test("THEN the owned NAT's alarms watch the instance and its published metrics, act through EC2 and tell the topic; the plain NAT has none", () => {
  const topic = awsCli(moto, ['sns', 'list-topics'])
    .Topics.map((entry: { TopicArn: string }) => entry.TopicArn)
    .find((arn: string) => arn.endsWith(':nat-alarms'));
  const byName = Object.fromEntries(alarms('nat-owned-').map((alarm) => [alarm.AlarmName, alarm]));
  const instanceDimension = [{ Name: 'InstanceId', Value: String(outputs.owned_instance_id) }];
  const natDimension = [{ Name: 'NatName', Value: 'nat-owned' }];
  expect(Object.keys(byName).sort()).toEqual([
    'nat-owned-conntrack-use',
    'nat-owned-egress-probe',
    'nat-owned-instance-status-reboot',
    'nat-owned-system-status-recover',
  ]);
  expect(byName['nat-owned-system-status-recover']).toMatchObject({
    Namespace: 'AWS/EC2',
    MetricName: 'StatusCheckFailed_System',
    Dimensions: instanceDimension,
    AlarmActions: [`arn:aws:automate:${MOTO_REGION}:ec2:recover`, topic],
    OKActions: [topic],
  });
  expect(byName['nat-owned-instance-status-reboot']).toMatchObject({
    MetricName: 'StatusCheckFailed_Instance',
    Dimensions: instanceDimension,
    AlarmActions: [`arn:aws:automate:${MOTO_REGION}:ec2:reboot`, topic],
  });
  expect(byName['nat-owned-egress-probe']).toMatchObject({
    Namespace: METRICS_NAMESPACE,
    MetricName: 'EgressProbe',
    Dimensions: natDimension,
    AlarmActions: [topic],
  });
  expect(byName['nat-owned-conntrack-use']).toMatchObject({
    Namespace: METRICS_NAMESPACE,
    MetricName: 'ConntrackUsePercent',
    Dimensions: natDimension,
    AlarmActions: [topic],
  });
  expect(alarms('nat-plain-')).toEqual([]);
});

test("THEN the owned NAT's role may publish to the NAT namespace; the plain NAT has no metrics policy", () => {
  const policies = awsCli(moto, ['iam', 'list-policies', '--scope', 'Local']).Policies as Array<{
    PolicyName: string;
    Arn: string;
    DefaultVersionId: string;
  }>;
  expect(policies.map((policy) => policy.PolicyName).filter((name) => name.endsWith('-metrics'))).toEqual(['nat-owned-metrics']);
  const policy = policies.find((entry) => entry.PolicyName === 'nat-owned-metrics')!;
  const document = awsCli(moto, ['iam', 'get-policy-version', '--policy-arn', policy.Arn, '--version-id', policy.DefaultVersionId])
    .PolicyVersion.Document;
  const statements = (typeof document === 'string' ? JSON.parse(decodeURIComponent(document)) : document).Statement;
  expect(statements).toEqual([
    expect.objectContaining({
      Action: ['cloudwatch:PutMetricData'],
      Condition: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
    }),
  ]);
  const attached = awsCli(moto, ['iam', 'list-attached-role-policies', '--role-name', 'nat-owned']).AttachedPolicies.map(
    (entry: { PolicyName: string }) => entry.PolicyName,
  );
  expect(attached).toContain('nat-owned-metrics');
});

test('WHEN destroyed THEN the owned address stays allocated and unassociated, the created ones are released, and no alarm is left', () => {
  const createdAllocations = addresses()
    .filter(
      (address) =>
        address.AllocationId !== owned.AllocationId &&
        (outputs.owned_public_ips as string[]).concat(outputs.plain_public_ips as string[]).includes(address.PublicIp),
    )
    .map((address) => address.AllocationId);
  expect(createdAllocations).toHaveLength(2);
  destroyOnEmulator(workspace);
  const afterDestroy = addresses();
  const kept = afterDestroy.find((address) => address.AllocationId === owned.AllocationId);
  expect(kept?.PublicIp).toBe(owned.PublicIp);
  expect(kept?.AssociationId).toBeUndefined();
  expect(afterDestroy.map((address) => address.AllocationId).filter((id) => createdAllocations.includes(id))).toEqual([]);
  expect(alarms('nat-')).toEqual([]);
});
