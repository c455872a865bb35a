/**
 * The per-interface IPv4 address limits that bound `publicIpCount`: the table's entries, the
 * same table as Terraform evaluates it for a module variable (by `terraform console`), and the
 * warning for a type the table does not know.
 */
import { TerraformOutput, TerraformVariable } from 'cdktf';
import {
  ipv4AddressesPerInterface,
  ipv4AddressesPerInterfaceOf,
  MAX_ADDRESSES_PER_INTERFACE,
} from '../../modules/nat/interface-address-limits';
import { synthesize, warningsOf } from './support/synth';
import { evaluateTerraformValue } from './support/terraform-console';
import { natOnExampleNetwork } from './support/example-nat';

describe('IPv4 addresses per network interface', () => {
  it.each([
    ['t4g.nano', 2],
    ['t3.micro', 2],
    ['t3a.small', 4],
    ['t2.medium', 6],
    ['t4g.large', 12],
    ['t3.2xlarge', 15],
    ['m6g.medium', 4],
    ['c5.large', 10],
    ['m5.xlarge', 15],
    ['c6gn.4xlarge', 30],
    ['r6i.12xlarge', 30],
    ['c7g.16xlarge', 50],
    ['m5.metal', 50],
  ])('GIVEN %s THEN the table gives %d, as the EC2 User Guide lists it', (type, limit) => {
    expect(ipv4AddressesPerInterface(type)).toBe(limit);
  });

  it.each(['c6in.large', 'x2iedn.xlarge', 'm5.nano'])('GIVEN %s (not in the table) THEN there is no limit to check', (type) => {
    expect(ipv4AddressesPerInterface(type)).toBeUndefined();
  });

  it('GIVEN a module variable for the type THEN Terraform evaluates the same table (the limit of unknown types: 50)', () => {
    const synth = synthesize((stack) => {
      const type = new TerraformVariable(stack, 'instance_type', { type: 'string' });
      new TerraformOutput(stack, 'limit', { value: ipv4AddressesPerInterfaceOf(stack, type.stringValue) });
    });
    // The locals' values in place of their references, in HCL's object syntax (which reads JSON's too).
    let expression: string = synth.json.output.limit.value;
    for (const [name, value] of Object.entries<unknown>(synth.json.locals))
      expression = expression.split(`local.${name}`).join(JSON.stringify(value));
    for (const type of ['t4g.nano', 't3.medium', 'm5.large', 'c6g.16xlarge', 'c6in.large', 'x2.weird']) {
      const evaluated = evaluateTerraformValue(expression, { variables: { instance_type: type } });
      expect({ type, limit: evaluated }).toEqual({ type, limit: ipv4AddressesPerInterface(type) ?? MAX_ADDRESSES_PER_INTERFACE });
    }
  });

  it('GIVEN two public addresses on a type outside the table THEN synth warns that the count is not checked', () => {
    const synth = synthesize((stack) => natOnExampleNetwork(stack, { publicIpCount: 2, instanceType: 'c6in.large' }).nat);
    expect(warningsOf(synth.built)).toEqual([
      expect.stringContaining("'publicIpCount' 2 is not checked against the per-interface address limit of c6in.large"),
    ]);
    const checked = synthesize((stack) => natOnExampleNetwork(stack, { publicIpCount: 2 }).nat);
    expect(warningsOf(checked.built)).toEqual([]);
  });
});
