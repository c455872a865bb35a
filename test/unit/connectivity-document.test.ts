import { readFileSync } from 'fs';
import { join } from 'path';
import { TerraformStack } from 'cdktf';
import {
  CHECK_URL_PATTERN,
  ConnectivityDocument,
  connectivityDocumentContent,
  DEFAULT_CHECK_URL,
  EXPECTED_IP_PATTERN,
} from '../../modules/connectivity';
import { ssmAccepts, synthesizedConnectivityDocument } from './support/connectivity-document';
import { evaluateTerraformString } from './support/terraform-console';
import { synthError, synthesize } from './support/synth';

const scriptOnDisk = readFileSync(join(__dirname, '../../modules/connectivity/check-internet-connectivity.sh'), 'utf8');

describe('TestInternetConnectivity document (synthesized nat-test-pipeline stack)', () => {
  const synthesized = synthesizedConnectivityDocument();
  const { resource, content } = synthesized;
  const parameters = content.parameters;

  test('is a Linux Command document of schema 2.2 named TestInternetConnectivity', () => {
    expect(resource.name).toBe('TestInternetConnectivity');
    expect(resource.document_type).toBe('Command');
    expect(resource.document_format).toBe('JSON');
    expect(content.schemaVersion).toBe('2.2');
    expect(content.mainSteps).toHaveLength(1);
    expect(content.mainSteps[0].action).toBe('aws:runShellScript');
  });

  test('runs exactly the shell check kept in modules/connectivity, as Terraform hands it to SSM', () => {
    // The script uses ${…} itself: the synthesized content must escape it, or Terraform would fail.
    expect(scriptOnDisk).toContain('${');
    expect(resource.content).not.toMatch(/(^|[^$])\$\{/);
    expect(synthesized.script).toBe(scriptOnDisk);
  });

  test('takes expectedIp, checkUrl and timeoutSeconds only as environment variables', () => {
    expect(Object.keys(parameters).sort()).toEqual(['checkUrl', 'expectedIp', 'timeoutSeconds']);
    for (const [name, parameter] of Object.entries(parameters)) {
      expect(parameter.interpolationType).toBe('ENV_VAR');
      expect(parameter.type).toBe('String');
      expect(synthesized.script).toContain(`SSM_${name}`);
    }
    // No {{ }} anywhere in the commands: nothing is spliced into the script text.
    expect(synthesized.script).not.toMatch(/\{\{/);
  });

  test('defaults satisfy their own allowedPattern (SSM rejects the document otherwise)', () => {
    for (const parameter of Object.values(parameters)) {
      expect(ssmAccepts(parameter, parameter.default)).toBe(true);
    }
    expect(parameters.checkUrl.default).toBe(DEFAULT_CHECK_URL);
    expect(parameters.expectedIp.default).toBe('');
  });

  test.each(['203.0.113.7', '0.0.0.0', '255.255.255.255', '10.8.1.20', ''])('expectedIp %p is accepted', (value) => {
    expect(ssmAccepts(parameters.expectedIp, value)).toBe(true);
  });

  test.each(['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4 ', '1.2.3.4; reboot', '$(reboot)', '1.2.3.4\n5.6.7.8', '::1'])(
    'expectedIp %p is refused',
    (value) => {
      expect(ssmAccepts(parameters.expectedIp, value)).toBe(false);
    },
  );

  test.each(['http://198.51.100.1:8080/', 'https://checkip.amazonaws.com', 'http://echo.lab/ip'])('checkUrl %p is accepted', (value) => {
    expect(ssmAccepts(parameters.checkUrl, value)).toBe(true);
  });

  test.each(['ftp://x', 'https://a.b/$(id)', 'https://a.b/?q=1&x', "https://a.b/'", ''])('checkUrl %p is refused', (value) => {
    expect(ssmAccepts(parameters.checkUrl, value)).toBe(false);
  });

  test.each([
    ['1', true],
    ['300', true],
    ['0', false],
    ['301', false],
    ['20s', false],
    ['', false],
  ])('timeoutSeconds %p accepted: %p', (value, accepted) => {
    expect(ssmAccepts(parameters.timeoutSeconds, value)).toBe(accepted);
  });

  test('the step outlives the longest check the pattern allows, so the check reports its own timeout', () => {
    const longestAllowed = Math.max(
      ...Array.from({ length: 1000 }, (_, i) => i).filter((n) => ssmAccepts(parameters.timeoutSeconds, String(n))),
    );
    expect(longestAllowed).toBe(300);
    expect(Number(content.mainSteps[0].inputs.timeoutSeconds)).toBeGreaterThan(longestAllowed);
  });
});

describe('ConnectivityDocument props', () => {
  test('GIVEN a custom name, check URL and timeout THEN the document carries them', () => {
    const { only } = synthesize(
      (stack: TerraformStack) =>
        new ConnectivityDocument(stack, 'doc', { name: 'CheckEgress', checkUrl: 'http://192.0.2.1/', timeoutSeconds: 5 }),
    );
    const { block } = only('aws_ssm_document');
    const content = JSON.parse(evaluateTerraformString(block.content));
    expect(block.name).toBe('CheckEgress');
    expect(content.parameters.checkUrl.default).toBe('http://192.0.2.1/');
    expect(content.parameters.timeoutSeconds.default).toBe('5');
  });

  test.each([
    [{ name: 'AWS-Mine' }, "'name'"],
    [{ name: 'a b' }, "'name'"],
    [{ checkUrl: 'https://x/$(id)' }, "'checkUrl'"],
    [{ timeoutSeconds: 0 }, "'timeoutSeconds'"],
    [{ timeoutSeconds: 2.5 }, "'timeoutSeconds'"],
    [{ timeoutSeconds: 301 }, "'timeoutSeconds'"],
  ])('bad props %p fail at synth naming %s', (props, prop) => {
    expect(synthError((stack) => new ConnectivityDocument(stack, 'doc', props))).toContain(prop);
  });

  test('the exported patterns are the ones in the document', () => {
    const content = connectivityDocumentContent();
    expect(content.parameters.expectedIp.allowedPattern).toBe(EXPECTED_IP_PATTERN);
    expect(content.parameters.checkUrl.allowedPattern).toBe(CHECK_URL_PATTERN);
  });
});
