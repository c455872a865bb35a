/**
 * Public addresses of the nat-module, with the real Terraform CLI and AWS provider against the
 * emulated API.
 *
 * GIVEN an Elastic IP allocated outside Terraform (the AWS CLI), and the synthesized nat-module
 *   called twice: `owned` with that allocation in `eip_allocation_ids` and `public_ip_count = 2`,
 *   `created` with the defaults
 * WHEN terraform applies, then destroys
 * THEN the owned NAT's public interface is one of its own with a secondary private address; the
 *   owned address is associated with the interface's primary address and a created one with the
 *   secondary; after destroy the owned address still exists (only its association is gone), while
 *   the addresses the NATs created are released: the control that shows destroy does release what
 *   Terraform allocated.
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

/**
 * `terraform destroy`, with one emulator work-around: moto keeps a terminated instance's device-0
 * interface attached and refuses to detach it, so deleting our public interface fails there (EC2
 * detaches it when the instance terminates). Such an interface is dropped from the state — never
 * anything else — and destroy runs again for what waited on it (its group, subnet and VPC).
 */
function destroyOnEmulator(workspace: TerraformWorkspace): void {
  const first = workspace.run(['destroy', '-auto-approve', '-input=false', '-no-color'], { check: false });
  if (first.code === 0) return;
  const stuck = /device index 0 and networkCard index 0 cannot be detached/.test(first.stderr);
  if (!stuck) throw new Error(`terraform destroy failed:\n${first.stderr}`);
  const interfaces = workspace.resources().filter((resource) => resource.type === 'aws_network_interface').map((resource) => resource.address);
  workspace.run(['state', 'rm', ...interfaces]);
  workspace.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
}

function addresses(): Address[] {
  return awsCli(moto, ['ec2', 'describe-addresses']).Addresses as Address[];
}

test('GIVEN an owned Elastic IP and two public addresses WHEN the module is applied and destroyed THEN both are used, then the owned one is left allocated', () => {
  const owned = awsCli(moto, ['ec2', 'allocate-address', '--domain', 'vpc']) as Address;
  const workspace = moduleRootWorkspace('public-addresses', stacks, moto, {
    owned: { eip_allocation_ids: [owned.AllocationId], public_ip_count: 2 },
    created: {},
  });
  workspaces.push(workspace);
  workspace.init();
  workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);

  const outputs = workspace.outputs();
  const ownedIps = outputs.owned_public_ips as string[];
  expect(ownedIps).toHaveLength(2);
  expect(ownedIps[0]).toBe(owned.PublicIp);
  const instance = awsCli(moto, ['ec2', 'describe-instances', '--instance-ids', String(outputs.owned_instance_id)]).Reservations[0].Instances[0];
  const primary = instance.NetworkInterfaces.find((nic: any) => nic.Attachment.DeviceIndex === 0);
  const privateIps = (primary.PrivateIpAddresses as Array<{ PrivateIpAddress: string; Primary: boolean }>).sort((a, b) => Number(b.Primary) - Number(a.Primary));
  expect(privateIps.map((address) => address.Primary)).toEqual([true, false]);
  const afterApply = addresses();
  expect(afterApply.find((address) => address.AllocationId === owned.AllocationId)).toMatchObject({ NetworkInterfaceId: primary.NetworkInterfaceId });
  const second = afterApply.find((address) => address.PublicIp === ownedIps[1]);
  expect(second).toMatchObject({ NetworkInterfaceId: primary.NetworkInterfaceId });
  // What Terraform asked EC2 for: the secondary private address (the emulator associates every
  // address with the primary whatever it is asked, so its own answer cannot tell).
  const createdForOwned = workspace.resources().find((resource) => resource.address.startsWith('module.owned.aws_eip.'));
  expect(createdForOwned?.values.associate_with_private_ip).toBe(privateIps[1].PrivateIpAddress);
  const createdIp = (outputs.created_public_ips as string[])[0];
  const created = afterApply.find((address) => address.PublicIp === createdIp);
  expect(created).toBeDefined();
  // Applied as planned: a second plan changes no address, association or interface (the
  // emulator's own drift in the instance's security-group list is not the subject here).
  const replan = workspace.run(['plan', '-input=false', '-no-color']).stdout;
  expect(replan).not.toMatch(/aws_(eip|eip_association|network_interface)\.[\w-]+(\[\d+\])? (will|must) be/);

  destroyOnEmulator(workspace);
  const afterDestroy = addresses();
  const kept = afterDestroy.find((address) => address.AllocationId === owned.AllocationId);
  expect(kept?.PublicIp).toBe(owned.PublicIp);
  expect(kept?.AssociationId).toBeUndefined();
  const released = afterDestroy.map((address) => address.AllocationId);
  expect(released).not.toContain(created!.AllocationId);
  expect(released).not.toContain(second!.AllocationId);
});
