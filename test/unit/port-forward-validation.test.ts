import { TerraformStack, TerraformVariable } from 'cdktf';
import { NatInstance, NatInstanceProps, PortForward } from '../../modules/nat';
import { validatePortForwards } from '../../modules/nat/port-forward-validation';
import { parseCidr } from '../../modules/shared/cidr';
import { synthError, synthesize } from './support/synth';

const BASE: NatInstanceProps = {
  vpcId: 'vpc-0e8a3c1d',
  publicSubnet: { id: 'subnet-0a1b2c3d', cidrBlock: '10.8.0.0/24', availabilityZone: 'eu-central-1a' },
  privateSubnets: [
    { id: 'subnet-a', cidrBlock: '10.8.1.0/24', availabilityZone: 'eu-central-1a' },
    { id: 'subnet-b', cidrBlock: '10.8.2.0/24', availabilityZone: 'eu-central-1b' },
  ],
  routeTableIds: ['rtb-a', 'rtb-b'],
};
const WEB: PortForward = { publicPort: 8080, targetIp: '10.8.1.10', targetPort: 80, allowedCidrs: ['203.0.113.0/24'] };

function rejection(portForwards: PortForward[], more: Partial<NatInstanceProps> = {}): string {
  return synthError((stack) => new NatInstance(stack, 'nat', { ...BASE, ...more, portForwards }));
}

function natIngress(portForwards: PortForward[], more: Partial<NatInstanceProps> = {}, build?: (stack: TerraformStack) => PortForward[]) {
  const synth = synthesize(
    (stack) => new NatInstance(stack, 'nat', { ...BASE, ...more, portForwards: build ? build(stack) : portForwards }),
  );
  return synth.only('aws_security_group').block.ingress as Array<Record<string, any>>;
}

describe('port forwards rejected at synth, each naming the entry and field', () => {
  it.each([
    ['public port 0', [{ ...WEB, publicPort: 0 }], "'portForwards[0].publicPort' must be a whole number from 1 to 65535, got 0"],
    [
      'public port 65536',
      [{ ...WEB, publicPort: 65536 }],
      "'portForwards[0].publicPort' must be a whole number from 1 to 65535, got 65536",
    ],
    [
      'a fractional public port',
      [{ ...WEB, publicPort: 80.5 }],
      "'portForwards[0].publicPort' must be a whole number from 1 to 65535, got 80.5",
    ],
    [
      'target port 0',
      [WEB, { ...WEB, publicPort: 8081, targetPort: 0 }],
      "'portForwards[1].targetPort' must be a whole number from 1 to 65535, got 0",
    ],
    [
      'target port 70000',
      [{ ...WEB, targetPort: 70000 }],
      "'portForwards[0].targetPort' must be a whole number from 1 to 65535, got 70000",
    ],
    ['an unknown protocol', [{ ...WEB, protocol: 'icmp' as never }], "'portForwards[0].protocol' must be 'tcp' or 'udp', got 'icmp'"],
    [
      'a duplicate public port and protocol',
      [WEB, { ...WEB, targetIp: '10.8.2.10' }],
      'portForwards[1]: public port tcp/8080 is already used by portForwards[0]',
    ],
    [
      'a duplicate udp port',
      [{ ...WEB, protocol: 'udp' }, WEB, { ...WEB, protocol: 'udp' }],
      'portForwards[2]: public port udp/8080 is already used by portForwards[0]',
    ],
    [
      'a malformed target IP',
      [{ ...WEB, targetIp: '10.8.1' }],
      "'portForwards[0].targetIp' must be an IPv4 address like 10.0.1.10, got '10.8.1'",
    ],
    ['an empty target IP', [{ ...WEB, targetIp: '' }], "'portForwards[0].targetIp' must be an IPv4 address like 10.0.1.10, got ''"],
    [
      'a target outside the private subnets',
      [{ ...WEB, targetIp: '10.8.0.10' }],
      "'portForwards[0].targetIp' 10.8.0.10 is not in any of 'privateSubnets' (10.8.1.0/24, 10.8.2.0/24)",
    ],
    [
      'a target on the network address',
      [{ ...WEB, targetIp: '10.8.1.0' }],
      "'portForwards[0].targetIp' 10.8.1.0 is the network address of 10.8.1.0/24: AWS reserves",
    ],
    [
      'a target on the VPC router',
      [{ ...WEB, targetIp: '10.8.2.1' }],
      "'portForwards[0].targetIp' 10.8.2.1 is the VPC router of 10.8.2.0/24",
    ],
    [
      'a target on the DNS address',
      [{ ...WEB, targetIp: '10.8.1.2' }],
      "'portForwards[0].targetIp' 10.8.1.2 is the DNS server address of 10.8.1.0/24",
    ],
    [
      'a target on the address reserved for future use',
      [{ ...WEB, targetIp: '10.8.1.3' }],
      "'portForwards[0].targetIp' 10.8.1.3 is reserved by AWS for future use",
    ],
    [
      'a target on the broadcast address',
      [{ ...WEB, targetIp: '10.8.2.255' }],
      "'portForwards[0].targetIp' 10.8.2.255 is the broadcast address of 10.8.2.0/24",
    ],
    ['empty allowedCidrs', [{ ...WEB, allowedCidrs: [] }], "'portForwards[0].allowedCidrs' must contain at least one element"],
    [
      'a malformed allowed CIDR',
      [{ ...WEB, allowedCidrs: ['203.0.113.0/24', '203.0.113.0'] }],
      "portForwards[0].allowedCidrs[1]: '203.0.113.0' is not an IPv4 CIDR block",
    ],
    [
      'an allowed CIDR with host bits',
      [{ ...WEB, allowedCidrs: ['203.0.113.9/24'] }],
      "portForwards[0].allowedCidrs[0]: '203.0.113.9/24' has host bits set",
    ],
    [
      '0.0.0.0/0 without allowAnySource',
      [{ ...WEB, allowedCidrs: ['0.0.0.0/0'] }],
      "'portForwards[0].allowedCidrs' (0.0.0.0/0) covers 4294967296 addresses, the whole internet: that would open the forwarded port to the internet; set 'allowAnySource: true' if you mean it",
    ],
    [
      'the internet in two halves without allowAnySource',
      [{ ...WEB, allowedCidrs: ['0.0.0.0/1', '128.0.0.0/1'] }],
      "'portForwards[0].allowedCidrs' (0.0.0.0/1, 128.0.0.0/1) covers 4294967296 addresses, the whole internet",
    ],
    [
      'a /7 without allowAnySource',
      [{ ...WEB, allowedCidrs: ['203.0.113.0/24', '4.0.0.0/7'] }],
      "'portForwards[0].allowedCidrs' (203.0.113.0/24, 4.0.0.0/7) covers 33554688 addresses",
    ],
  ])('GIVEN %s WHEN synthesized THEN it is rejected', (_case, forwards, message) => {
    expect(rejection(forwards as PortForward[])).toContain(message);
  });

  it('GIVEN sshCidrs WHEN a forward takes public tcp/22 THEN it is rejected as SSH on the NAT', () => {
    expect(rejection([{ ...WEB, publicPort: 22 }], { sshCidrs: ['198.51.100.0/24'] })).toContain(
      "portForwards[0]: public port tcp/22 is already used by SSH on the NAT ('sshCidrs')",
    );
  });
});

describe('port forwards accepted at synth', () => {
  it('GIVEN the same public port over tcp and udp THEN both are accepted, one security-group rule each', () => {
    const rules = natIngress([
      { ...WEB, publicPort: 53, targetPort: 53 },
      { ...WEB, publicPort: 53, targetPort: 53, protocol: 'udp' },
    ]);
    expect(rules.filter((rule) => rule.from_port === 53).map((rule) => rule.protocol)).toEqual(['tcp', 'udp']);
  });

  it('GIVEN no sshCidrs WHEN a forward takes public tcp/22 THEN it is accepted (no SSH on the NAT)', () => {
    const rules = natIngress([{ ...WEB, publicPort: 22, targetPort: 22 }]);
    expect(rules.filter((rule) => rule.from_port === 22)).toEqual([expect.objectContaining({ cidr_blocks: ['203.0.113.0/24'] })]);
  });

  it('GIVEN sshCidrs WHEN a forward takes public udp/22 THEN it is accepted', () => {
    expect(() => natIngress([{ ...WEB, protocol: 'udp', publicPort: 22 }], { sshCidrs: ['198.51.100.0/24'] })).not.toThrow();
  });

  it('GIVEN a private range bigger than /8 but under 2^25 addresses THEN no opt-in is needed', () => {
    expect(() => natIngress([{ ...WEB, allowedCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] }])).not.toThrow();
  });

  it('GIVEN the internet in two halves with allowAnySource THEN it is accepted', () => {
    expect(() => natIngress([{ ...WEB, allowedCidrs: ['0.0.0.0/1', '128.0.0.0/1'], allowAnySource: true }])).not.toThrow();
  });

  it('GIVEN 0.0.0.0/0 with allowAnySource THEN the forward is open to the internet on its port only', () => {
    const rules = natIngress([{ ...WEB, allowedCidrs: ['0.0.0.0/0'], allowAnySource: true }]);
    const open = rules.filter((rule) => (rule.cidr_blocks ?? []).includes('0.0.0.0/0'));
    expect(open).toEqual([expect.objectContaining({ protocol: 'tcp', from_port: 8080, to_port: 8080 })]);
  });

  it('GIVEN Terraform variables for ports, target and sources THEN they are accepted unchecked and reach the security group', () => {
    const rules = natIngress([], {}, (stack) => {
      const port = new TerraformVariable(stack, 'public_port', { type: 'number' }).numberValue;
      const target = new TerraformVariable(stack, 'target_ip', { type: 'string' }).stringValue;
      const sources = new TerraformVariable(stack, 'sources', { type: 'list(string)' }).listValue;
      const source = new TerraformVariable(stack, 'source', { type: 'string' }).stringValue;
      return [
        { publicPort: port, targetIp: target, targetPort: port, allowedCidrs: sources },
        { publicPort: 9000, targetIp: '10.8.2.5', targetPort: 9000, allowedCidrs: [source] },
      ];
    });
    expect(rules).toContainEqual(expect.objectContaining({ from_port: '${var.public_port}', cidr_blocks: '${var.sources}' }));
    expect(rules).toContainEqual(expect.objectContaining({ from_port: 9000, cidr_blocks: ['${var.source}'] }));
  });
});

describe('validatePortForwards on its own', () => {
  it('GIVEN no concrete private subnets (token lists) THEN targets are not checked against them', () => {
    expect(() => validatePortForwards([{ ...WEB, targetIp: '192.168.9.9' }], [])).not.toThrow();
  });

  it('GIVEN concrete private subnets THEN a target at the subnet edge is inside and one past it is not', () => {
    const privates = [parseCidr('10.8.1.0/24', 'p')];
    expect(() => validatePortForwards([{ ...WEB, targetIp: '10.8.1.4' }], privates)).not.toThrow();
    expect(() => validatePortForwards([{ ...WEB, targetIp: '10.8.1.254' }], privates)).not.toThrow();
    expect(() => validatePortForwards([{ ...WEB, targetIp: '10.8.1.255' }], privates)).toThrow('broadcast address');
    expect(() => validatePortForwards([{ ...WEB, targetIp: '10.8.2.0' }], privates)).toThrow(
      "'portForwards[0].targetIp' 10.8.2.0 is not in any",
    );
  });
});
