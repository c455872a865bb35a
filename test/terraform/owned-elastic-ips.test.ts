/**
 * Bring-your-own Elastic IPs, with the real Terraform CLI and AWS provider against the emulated API.
 *
 * GIVEN an Elastic IP allocated outside Terraform (the AWS CLI), and the synthesized nat-module
 *   called twice: `owned` with that allocation in `eip_allocation_ids`, `created` with the default
 * WHEN terraform applies, then destroys
 * THEN the owned address is associated with the owned NAT's public interface and is its egress IP;
 *   after destroy it still exists (only its association is gone), while the address the other NAT
 *   created is released: the control that shows destroy does release what Terraform allocated.
 */
import { startMoto, MotoServer } from '../support/moto';
import { TerraformWorkspace } from '../support/terraform';
import { synthesizeStacks } from './synthesized-stacks';
import { awsCli, moduleRootWorkspace } from './module-root';

jest.setTimeout(600_000);

interface Address {
  readonly AllocationId: string;
  readonly PublicIp: string;
  readonly NetworkInterfaceId?: string;
  readonly AssociationId?: string;
}

const stacks = synthesizeStacks();
let moto: MotoServer;
const workspaces: TerraformWorkspace[] = [];

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  workspaces.forEach((workspace) => workspace.remove());
  await moto?.stop();
});

function addresses(): Address[] {
  return awsCli(moto, ['ec2', 'describe-addresses']).Addresses as Address[];
}

test('GIVEN an owned Elastic IP WHEN the module is applied and destroyed THEN it is used, then left allocated; the created one is released', () => {
  const owned = awsCli(moto, ['ec2', 'allocate-address', '--domain', 'vpc']) as Address;
  const workspace = moduleRootWorkspace('owned-eip', stacks, moto, { owned: { eip_allocation_ids: [owned.AllocationId] }, created: {} });
  workspaces.push(workspace);
  workspace.init();
  workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);

  const outputs = workspace.outputs();
  expect(outputs.owned_public_ips).toEqual([owned.PublicIp]);
  const ownedInstance = awsCli(moto, ['ec2', 'describe-instances', '--instance-ids', String(outputs.owned_instance_id)]).Reservations[0].Instances[0];
  const primaryInterface = ownedInstance.NetworkInterfaces.find((nic: any) => nic.Attachment.DeviceIndex === 0).NetworkInterfaceId;
  const afterApply = addresses();
  expect(afterApply.find((address) => address.AllocationId === owned.AllocationId)).toMatchObject({ NetworkInterfaceId: primaryInterface });
  const createdIp = (outputs.created_public_ips as string[])[0];
  const created = afterApply.find((address) => address.PublicIp === createdIp);
  expect(created).toBeDefined();
  expect(created!.AllocationId).not.toBe(owned.AllocationId);
  // Applied as planned: a second plan changes no address or association (the emulator's own
  // drift in the instance's security-group list is not the subject here).
  const replan = workspace.run(['plan', '-input=false', '-no-color']).stdout;
  expect(replan).not.toMatch(/aws_eip(_association)?\.[\w-]+(\[\d+\])? (will|must) be/);

  workspace.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
  const afterDestroy = addresses();
  const kept = afterDestroy.find((address) => address.AllocationId === owned.AllocationId);
  expect(kept?.PublicIp).toBe(owned.PublicIp);
  expect(kept?.AssociationId).toBeUndefined();
  expect(afterDestroy.map((address) => address.AllocationId)).not.toContain(created!.AllocationId);
});

test('GIVEN owned Elastic IPs the NAT cannot carry WHEN terraform plans THEN the preconditions refuse them, naming the inputs', () => {
  const workspace = moduleRootWorkspace('owned-eip-refused', stacks, moto, {
    two: { eip_allocation_ids: ['eipalloc-0123456789abcdef0', 'eipalloc-0123456789abcdef1'] },
    without: { eip_allocation_ids: ['eipalloc-0123456789abcdef2'], elastic_ip: false },
  });
  workspaces.push(workspace);
  workspace.init();
  const plan = workspace.run(['plan', '-input=false', '-no-color'], { check: false });
  const output = `${plan.stdout}${plan.stderr}`.replace(/[\s│]+/g, ' ');
  expect(plan.code).not.toBe(0);
  expect(output).toContain('More Elastic IP allocation IDs than public addresses');
  expect(output).toContain('Owned Elastic IPs need elastic_ip = true (it is false)');
});
