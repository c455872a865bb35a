/**
 * A cdktf user's stacks, written against the published package name only. The consumer test
 * compiles and runs this file twice: in a fresh project that installed the packed tarball, and
 * in-process against the repository's sources (jest maps the package name to index.ts).
 */
import { App, LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import {
  EXISTING_INSTANCE_REQUIREMENTS,
  ExistingInstanceNat,
  ExistingInstanceNatProps,
  NatInstance,
  NatInstanceProps,
  Network,
  NetworkProps,
  RouteClaimPolicy,
  SsmInstanceRole,
  SubnetInfo,
} from 'cdktf-nat-instance';

export const CONSUMER_STACK = 'consumer';

/** The embedded example's network and dual-interface NAT, a NAT on an existing host, a standalone route-claim policy. */
export function defineConsumerStacks(app: App): void {
  const stack = new TerraformStack(app, CONSUMER_STACK);
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  // A relative state path: cdktf's default is absolute, i.e. differs between two directories.
  new LocalBackend(stack, { path: 'terraform.consumer.tfstate' });
  const networkProps: NetworkProps = {
    name: 'consumer',
    cidr: '10.8.0.0/16',
    azs: ['eu-central-1a', 'eu-central-1b'],
    publicSubnets: ['10.8.0.0/24'],
    privateSubnets: ['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24'],
    privateRouteTables: 'per-az',
  };
  const network = new Network(stack, 'network', networkProps);
  const publicSubnet: SubnetInfo = network.publicSubnets[0];
  const natProps: NatInstanceProps = {
    name: 'consumer',
    mode: 'dual',
    vpcId: network.vpcId,
    publicSubnet,
    privateSubnets: network.privateSubnets,
    routeTableIds: network.privateRouteTableIds,
    portForwards: [{ publicPort: 9999, targetIp: '10.8.1.10', targetPort: 22, allowedCidrs: ['203.0.113.7/32'], preserveClientIp: false }],
  };
  const nat = new NatInstance(stack, 'nat', natProps);
  const hostRole = new SsmInstanceRole(stack, 'host-role', { name: 'consumer-host' });
  const existingProps: ExistingInstanceNatProps = {
    name: 'consumer-host',
    privateCidrs: ['10.8.1.0/24'],
    routeTableIds: network.privateRouteTableIds,
    roleName: hostRole.roleName,
    vpcId: network.vpcId,
  };
  const natOnHost = new ExistingInstanceNat(stack, 'nat-on-host', existingProps);
  new RouteClaimPolicy(stack, 'route-claim', { name: 'consumer-route-claim', routeTableIds: network.privateRouteTableIds });
  new TerraformOutput(stack, 'public_ip', { value: nat.publicIp });
  new TerraformOutput(stack, 'host_user_data', { value: natOnHost.userDataBase64, sensitive: true });
  new TerraformOutput(stack, 'host_source_dest_check', { value: EXISTING_INSTANCE_REQUIREMENTS.sourceDestCheck });
}
