/**
 * What the NAT constructs need to know about a subnet. The ID is usually a Terraform token;
 * the CIDR block and availability zone are concrete where known, so props can be validated
 * at synth time and CIDRs appear literally in the NAT's settings, or tokens in the
 * plain-Terraform module case.
 */
export interface SubnetInfo {
  /** The subnet ID (`aws_subnet.x.id` or a variable). */
  readonly id: string;
  /** The subnet's IPv4 CIDR block. */
  readonly cidrBlock: string;
  /** The subnet's availability zone, when known. */
  readonly availabilityZone?: string;
}

/**
 * Subnets known only as Terraform lists of unknown length (a plain-Terraform module's variables):
 * IDs and CIDR blocks as token lists, in the same order.
 */
export interface SubnetListInfo {
  readonly ids: string[];
  readonly cidrBlocks: string[];
}

/** The CIDR blocks of either form of subnet list. */
export function subnetCidrBlocks(subnets: SubnetInfo[] | SubnetListInfo): string[] {
  return Array.isArray(subnets) ? subnets.map((subnet) => subnet.cidrBlock) : subnets.cidrBlocks;
}
