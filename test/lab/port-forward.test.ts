/**
 * Data plane: inbound port forwards through the NAT, restricted by source, in both
 * modes: allowed and refused sources, TCP and UDP, client address preserved or masqueraded,
 * and still there after a reboot.
 */
import {
  createLabVpc,
  expectBootSuccess,
  expectNoAnswer,
  expectSourceIp,
  LAB_ADDRESSES,
  LabVpc,
  requireRoot,
  SourceIpProbe,
  teardownLabs,
} from './harness';

jest.setTimeout(120_000);

const [allowedClient, otherClient] = LAB_ADDRESSES.internetClientIps;
const FORWARDS = {
  preserved: { protocol: 'tcp', publicPort: 9999, targetIp: '10.8.2.20', targetPort: LAB_ADDRESSES.hostHttpPort },
  masqueraded: { protocol: 'tcp', publicPort: 9998, targetIp: '10.8.3.20', targetPort: LAB_ADDRESSES.hostHttpPort },
  udp: { protocol: 'udp', publicPort: 5353, targetIp: '10.8.1.20', targetPort: LAB_ADDRESSES.hostUdpPort },
} as const;

describe.each(['single', 'dual'] as const)('port forwards, %s mode', (mode) => {
  let lab: LabVpc;
  /** The target sees this address when the client is not preserved: the NAT's forwarding address. */
  const natPrivateIp = mode === 'dual' ? LAB_ADDRESSES.natSecondaryIp : LAB_ADDRESSES.natPublicSubnetIp;

  const probe = (scenario: string, forward: (typeof FORWARDS)[keyof typeof FORWARDS], source: string): SourceIpProbe => ({
    scenario: `port forward (${mode}): ${scenario}`,
    from: 'internet',
    protocol: forward.protocol,
    host: LAB_ADDRESSES.natPublicIp,
    port: forward.publicPort,
    source,
  });

  beforeAll(async () => {
    requireRoot();
    lab = await createLabVpc({
      mode,
      natProps: {
        portForwards: [
          { ...FORWARDS.preserved, allowedCidrs: [`${allowedClient}/32`] },
          { ...FORWARDS.masqueraded, allowedCidrs: [`${allowedClient}/32`], preserveClientIp: false },
          { ...FORWARDS.udp, allowedCidrs: ['203.0.113.0/28'] },
        ],
      },
    });
    expectBootSuccess(`port forward (${mode}): boot`, lab.runBootScript());
  });
  afterAll(teardownLabs);

  test('an allowed source reaches a TCP service on a private host; the target sees the client IP', () => {
    expectSourceIp(lab, probe('allowed source, client IP preserved', FORWARDS.preserved, allowedClient), allowedClient);
  });

  test('a source that is not allowed gets no connection', () => {
    expectNoAnswer(lab, probe('source not allowed', FORWARDS.preserved, otherClient));
    expectNoAnswer(lab, probe('source not allowed (masqueraded forward)', FORWARDS.masqueraded, otherClient));
  });

  test("with the client address not preserved the target sees the NAT's private IP", () => {
    expectSourceIp(lab, probe('allowed source, masqueraded', FORWARDS.masqueraded, allowedClient), natPrivateIp);
  });

  test('a UDP forward works', () => {
    expectSourceIp(lab, probe('UDP forward', FORWARDS.udp, allowedClient), allowedClient);
    expectNoAnswer(lab, probe('UDP forward, source not allowed', FORWARDS.udp, otherClient));
  });

  test('forwarded connections do not change private-host egress', () => {
    const egress = {
      scenario: `port forward (${mode}): egress`,
      from: 'h2' as const,
      protocol: 'tcp' as const,
      host: LAB_ADDRESSES.internetServerIp,
      port: 80,
    };
    expectSourceIp(lab, egress, lab.natPublicIp);
  });

  test('after a reboot of the NAT the forwards work again', async () => {
    await lab.rebootNat();
    expectNoAnswer(lab, probe('after reboot, before the script', FORWARDS.preserved, allowedClient));
    expectBootSuccess(`port forward (${mode}): boot after reboot`, lab.runBootScript());
    expectSourceIp(lab, probe('after reboot, preserved', FORWARDS.preserved, allowedClient), allowedClient);
    expectSourceIp(lab, probe('after reboot, masqueraded', FORWARDS.masqueraded, allowedClient), natPrivateIp);
    expectSourceIp(lab, probe('after reboot, UDP', FORWARDS.udp, allowedClient), allowedClient);
    expectNoAnswer(lab, probe('after reboot, source not allowed', FORWARDS.preserved, otherClient));
  });
});
