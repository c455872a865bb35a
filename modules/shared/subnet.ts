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
