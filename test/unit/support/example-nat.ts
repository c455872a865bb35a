import type { TerraformStack } from 'cdktf';
import { NatInstance, NatInstanceProps } from '../../../modules/nat';
import { Network, NetworkProps } from '../../../modules/vpc';

/** The nat-example layout: one public subnet in zone a, three private subnets over zones a/b/a. */
export const EXAMPLE_NETWORK: NetworkProps = {
  cidr: '10.8.0.0/16',
  azs: ['eu-central-1a', 'eu-central-1b'],
  publicSubnets: ['10.8.0.0/24'],
  privateSubnets: ['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24'],
  privateRouteTables: 'per-az',
};

/** GIVEN that network (with `networkProps` on top) and a NatInstance wired to it, with `props` on top. */
export function natOnExampleNetwork(
  stack: TerraformStack,
  props: Partial<NatInstanceProps> = {},
  networkProps: Partial<NetworkProps> = {},
): { network: Network; nat: NatInstance } {
  const network = new Network(stack, 'network', { ...EXAMPLE_NETWORK, ...networkProps });
  const nat = new NatInstance(stack, 'nat', {
    vpcId: network.vpcId,
    publicSubnet: network.publicSubnets[0],
    privateSubnets: network.privateSubnets,
    routeTableIds: network.privateRouteTableIds,
    ...props,
  });
  return { network, nat };
}
