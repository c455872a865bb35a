import { Construct } from 'constructs';
import { Fn, propertyAccess, TerraformLocal, Token } from 'cdktf';

/**
 * How many IPv4 addresses one network interface of an instance type can carry (its primary private
 * address included): the "IPv4 addresses per interface" column of the EC2 User Guide's table
 * "IP addresses per network interface per instance type"
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/AvailableIpPerENI.html).
 *
 * A small table of common families, not the whole catalogue: the burstable families share one
 * column by size, and the 5th-7th generation general-purpose, compute- and memory-optimized
 * families share another. Types outside it are not checked at synth (a warning says so); EC2 refuses
 * too many addresses when the interface is created.
 */
const BURSTABLE_BY_SIZE: Record<string, number> = { nano: 2, micro: 2, small: 4, medium: 6, large: 12, xlarge: 15, '2xlarge': 15 };
const STANDARD_BY_SIZE: Record<string, number> = {
  medium: 4,
  large: 10,
  xlarge: 15,
  '2xlarge': 15,
  '4xlarge': 30,
  '8xlarge': 30,
  '9xlarge': 30,
  '12xlarge': 30,
  '16xlarge': 50,
  '18xlarge': 50,
  '24xlarge': 50,
  metal: 50,
};
const CLASSES = { burstable: BURSTABLE_BY_SIZE, standard: STANDARD_BY_SIZE } as const;
type SizeClass = keyof typeof CLASSES;

/** Families in the table, by the column they read. */
export const FAMILY_CLASSES: Record<string, SizeClass> = {
  ...Object.fromEntries(['t2', 't3', 't3a', 't4g'].map((family) => [family, 'burstable'])),
  ...Object.fromEntries(
    [
      'm5',
      'm5a',
      'm6a',
      'm6g',
      'm6i',
      'm7g',
      'm7i',
      'c5',
      'c5a',
      'c6a',
      'c6g',
      'c6gn',
      'c6i',
      'c7g',
      'c7i',
      'r5',
      'r5a',
      'r6a',
      'r6g',
      'r6i',
      'r7g',
      'r7i',
    ].map((family) => [family, 'standard']),
  ),
} as Record<string, SizeClass>;

/** EC2's limit for any interface: no type carries more. */
export const MAX_ADDRESSES_PER_INTERFACE = 50;

/** The per-interface IPv4 limit of a type like `t4g.nano`, or undefined when the table does not know it. */
export function ipv4AddressesPerInterface(instanceType: string): number | undefined {
  const [family, size] = instanceType.split('.');
  const sizeClass = FAMILY_CLASSES[family];
  return sizeClass === undefined ? undefined : CLASSES[sizeClass][size];
}

/**
 * The same table evaluated by Terraform, for an instance type that is a token (a module variable):
 * the limit, or `MAX_ADDRESSES_PER_INTERFACE` for a type the table does not know. The table goes
 * into two locals of `scope`.
 */
export function ipv4AddressesPerInterfaceOf(scope: Construct, instanceType: string): number {
  const limits = new TerraformLocal(scope, 'ipv4_addresses_per_interface', CLASSES);
  const families = new TerraformLocal(scope, 'instance_family_classes', FAMILY_CLASSES);
  const [family, size] = [0, 1].map((i) => Fn.element(Fn.split('.', instanceType), i));
  return Token.asNumber(
    Fn.try([propertyAccess(limits.expression, [propertyAccess(families.expression, [family]), size]), MAX_ADDRESSES_PER_INTERFACE]),
  );
}
