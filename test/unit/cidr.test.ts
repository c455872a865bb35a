import {
  cidrContains,
  cidrContainsAddress,
  cidrsOverlap,
  formatIpv4,
  parseCidr,
  parseIpv4,
  subnetRouterAddress,
} from '../../modules/shared/cidr';
import { concreteCidr, requireNonEmpty } from '../../modules/shared/validation';
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';

describe('parseIpv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.8.1.2', (10 << 24) + (8 << 16) + (1 << 8) + 2],
    ['255.255.255.255', 0xffffffff],
  ])('GIVEN %s WHEN parsed THEN it is %d', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  it.each(['256.0.0.1', '10.0.0', '10.0.0.0.1', '10.01.0.1', 'a.b.c.d', '', ' 10.0.0.1', '10.0.0.1/32'])(
    'GIVEN %p WHEN parsed THEN it is not an address',
    (text) => {
      expect(parseIpv4(text)).toBeUndefined();
    },
  );

  it('GIVEN a number WHEN formatted and parsed again THEN the round trip is exact', () => {
    expect(formatIpv4(parseIpv4('192.168.17.254')!)).toBe('192.168.17.254');
  });
});

describe('parseCidr', () => {
  it('GIVEN a network block WHEN parsed THEN network and prefix are returned with the original text', () => {
    expect(parseCidr('10.8.0.0/16', 'cidr')).toEqual({ network: parseIpv4('10.8.0.0'), prefix: 16, text: '10.8.0.0/16' });
  });

  it.each(['0.0.0.0/0', '10.8.3.7/32', '172.16.0.0/12'])('GIVEN %s WHEN parsed THEN it is accepted', (text) => {
    expect(parseCidr(text, 'cidr').text).toBe(text);
  });

  it.each([
    '10.8.0.0',
    '10.8.0.0/33',
    '10.8.0.0/-1',
    '10.8.0.0/16/1',
    '10.8.0/16',
    '300.0.0.0/8',
    'ten/8',
    '10.8.0.0/',
    '10.8.0.0/1a',
    '10.0.0.0/08',
  ])('GIVEN the malformed %p WHEN parsed THEN the error names the prop and shows the text', (text) => {
    expect(() => parseCidr(text, 'privateSubnets[2]')).toThrow(`privateSubnets[2]: '${text}' is not an IPv4 CIDR block`);
  });

  it('GIVEN host bits set WHEN parsed THEN the error names the prop and suggests the network address', () => {
    expect(() => parseCidr('10.8.1.7/24', 'cidr')).toThrow("cidr: '10.8.1.7/24' has host bits set; did you mean 10.8.1.0/24?");
  });
});

describe('containment and overlap', () => {
  const vpc = parseCidr('10.8.0.0/16', 'vpc');
  const subnet = parseCidr('10.8.3.0/24', 'subnet');
  const outside = parseCidr('10.9.0.0/24', 'outside');
  const wider = parseCidr('10.0.0.0/8', 'wider');

  it('GIVEN a subnet inside the VPC WHEN checked THEN the VPC contains it and not the other way round', () => {
    expect(cidrContains(vpc, subnet)).toBe(true);
    expect(cidrContains(subnet, vpc)).toBe(false);
    expect(cidrContains(vpc, outside)).toBe(false);
  });

  it('GIVEN blocks that nest or are disjoint WHEN checked THEN overlap is symmetric and exact', () => {
    expect(cidrsOverlap(vpc, subnet)).toBe(true);
    expect(cidrsOverlap(subnet, vpc)).toBe(true);
    expect(cidrsOverlap(wider, outside)).toBe(true);
    expect(cidrsOverlap(vpc, outside)).toBe(false);
    expect(cidrsOverlap(parseCidr('10.8.0.0/24', 'a'), parseCidr('10.8.1.0/24', 'b'))).toBe(false);
  });

  it('GIVEN addresses at the edges of a block WHEN checked THEN only those inside are contained', () => {
    expect(cidrContainsAddress(subnet, parseIpv4('10.8.3.0')!)).toBe(true);
    expect(cidrContainsAddress(subnet, parseIpv4('10.8.3.255')!)).toBe(true);
    expect(cidrContainsAddress(subnet, parseIpv4('10.8.4.0')!)).toBe(false);
    expect(cidrContainsAddress(subnet, parseIpv4('10.8.2.255')!)).toBe(false);
    expect(cidrContainsAddress(parseCidr('0.0.0.0/0', 'any'), parseIpv4('203.0.113.9')!)).toBe(true);
  });

  it('GIVEN a subnet WHEN its router address is asked THEN it is the network address plus one', () => {
    expect(subnetRouterAddress(subnet)).toBe('10.8.3.1');
  });
});

describe('shared validation helpers', () => {
  const stack = new TerraformStack(Testing.app(), 'tokens');
  const cidrVariable = new TerraformVariable(stack, 'cidr', { type: 'string' });
  const listVariable = new TerraformVariable(stack, 'list', { type: 'list(string)' });

  it('GIVEN a token CIDR WHEN checked THEN it is left to Terraform', () => {
    expect(concreteCidr(cidrVariable.stringValue, 'cidr')).toBeUndefined();
  });

  it('GIVEN a concrete malformed CIDR WHEN checked THEN it is rejected naming the prop', () => {
    expect(() => concreteCidr('10.0.0.0/99', 'additionalCidrs[0]')).toThrow('additionalCidrs[0]');
  });

  it('GIVEN an empty or missing list WHEN required non-empty THEN the error names the prop; a token list passes', () => {
    expect(() => requireNonEmpty([], 'routeTableIds')).toThrow("'routeTableIds' must contain at least one element");
    expect(() => requireNonEmpty(undefined, 'privateSubnets')).toThrow("'privateSubnets' must contain at least one element");
    expect(() => requireNonEmpty(listVariable.listValue, 'privateSubnets')).not.toThrow();
    expect(() => requireNonEmpty(['x'], 'privateSubnets')).not.toThrow();
  });
});
