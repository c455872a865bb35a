/**
 * The NAT's CloudWatch alarms and its metrics publisher's resources, as synthesized: which alarms
 * exist for which switches, what each watches, and what it does, with the EC2 actions' ARNs and the
 * module's conditional lists evaluated by the real `terraform console`.
 */
import { App } from 'cdktf';
import { NatInstanceProps } from '../../modules/nat';
import { METRICS_NAMESPACE } from '../../modules/nat/metrics-settings';
import { NatModuleStack } from '../../stacks/nat-module';
import { synthError, synthesize, synthesizeStack, TfBlock } from './support/synth';
import { evaluateTerraformValue, TerraformValues } from './support/terraform-console';
import { natOnExampleNetwork } from './support/example-nat';

const TOPIC = 'arn:aws:sns:eu-central-1:111122223333:nat-alarms';
/** What the partition and region data sources answer at plan in this test. */
const PLAN_VALUES: TerraformValues = {
  substitutions: [
    [/data\.aws_partition\.[\w-]+\.partition/, 'aws'],
    [/data\.aws_region\.[\w-]+\.id/, 'eu-central-1'],
  ],
};

/** The alarms of a NAT on the example network, by alarm name, with their instance's name. */
function alarmsOf(props: Partial<NatInstanceProps>): { alarms: Record<string, TfBlock>; instanceId: string; json: Record<string, any> } {
  const synth = synthesize((stack) => natOnExampleNetwork(stack, props).nat);
  const alarms = Object.fromEntries(
    Object.values(synth.resources('aws_cloudwatch_metric_alarm')).map((alarm) => [alarm.alarm_name as string, alarm]),
  );
  const [instanceName] = Object.keys(synth.resources('aws_instance')); // none when self-healing
  return { alarms, instanceId: instanceName ? synth.ref('aws_instance', instanceName, 'id') : '', json: synth.json };
}

const evaluated = (value: unknown) =>
  evaluateTerraformValue(typeof value === 'string' ? value : `\${${JSON.stringify(value)}}`, PLAN_VALUES);

describe('NatInstance alarms with the defaults', () => {
  const { alarms, instanceId } = alarmsOf({});

  it('THEN there are four alarms, named after the NAT', () => {
    expect(Object.keys(alarms).sort()).toEqual([
      'nat-instance-conntrack-use',
      'nat-instance-egress-probe',
      'nat-instance-instance-status-reboot',
      'nat-instance-system-status-recover',
    ]);
  });

  it('THEN a failed system status check for 2 minutes makes EC2 recover the instance', () => {
    const alarm = alarms['nat-instance-system-status-recover'];
    expect(alarm).toMatchObject({
      namespace: 'AWS/EC2',
      metric_name: 'StatusCheckFailed_System',
      dimensions: { InstanceId: instanceId },
      statistic: 'Maximum',
      period: 60,
      evaluation_periods: 2,
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
    });
    expect(alarm.alarm_actions.map(evaluated)).toEqual(['arn:aws:automate:eu-central-1:ec2:recover']);
    expect(alarm.ok_actions).toEqual([]);
  });

  it('THEN a failed instance status check for 3 minutes makes EC2 reboot it', () => {
    const alarm = alarms['nat-instance-instance-status-reboot'];
    expect(alarm).toMatchObject({
      namespace: 'AWS/EC2',
      metric_name: 'StatusCheckFailed_Instance',
      dimensions: { InstanceId: instanceId },
      evaluation_periods: 3,
      threshold: 1,
    });
    expect(alarm.alarm_actions.map(evaluated)).toEqual(['arn:aws:automate:eu-central-1:ec2:reboot']);
  });

  it('THEN a failing egress probe, or none at all, for 3 minutes is an alarm (no automatic action: the probe may fail beyond the NAT)', () => {
    expect(alarms['nat-instance-egress-probe']).toMatchObject({
      namespace: METRICS_NAMESPACE,
      metric_name: 'EgressProbe',
      dimensions: { NatName: 'nat-instance' },
      statistic: 'Minimum',
      comparison_operator: 'LessThanThreshold',
      threshold: 1,
      evaluation_periods: 3,
      datapoints_to_alarm: 3,
      treat_missing_data: 'breaching',
      alarm_actions: [],
    });
  });

  it('THEN connection tracking above 80 % for 3 minutes is an alarm; no data is not', () => {
    expect(alarms['nat-instance-conntrack-use']).toMatchObject({
      namespace: METRICS_NAMESPACE,
      metric_name: 'ConntrackUsePercent',
      dimensions: { NatName: 'nat-instance' },
      statistic: 'Maximum',
      comparison_operator: 'GreaterThanThreshold',
      threshold: 80,
      treat_missing_data: 'notBreaching',
    });
  });
});

describe('NatInstance alarms with options', () => {
  it('GIVEN a topic THEN every alarm tells it when it fires and when it clears, after its EC2 action', () => {
    const { alarms } = alarmsOf({ alarms: { topicArn: TOPIC } });
    for (const alarm of Object.values(alarms)) {
      expect({ name: alarm.alarm_name, actions: alarm.alarm_actions.map(evaluated).slice(-1), ok: alarm.ok_actions }).toEqual({
        name: alarm.alarm_name,
        actions: [TOPIC],
        ok: [TOPIC],
      });
    }
    expect(alarms['nat-instance-system-status-recover'].alarm_actions.map(evaluated)).toEqual([
      'arn:aws:automate:eu-central-1:ec2:recover',
      TOPIC,
    ]);
  });

  it.each([
    ['recoverOnSystemFailure', 'nat-instance-system-status-recover'],
    ['rebootOnInstanceFailure', 'nat-instance-instance-status-reboot'],
    ['egressProbe', 'nat-instance-egress-probe'],
    ['connectionTracking', 'nat-instance-conntrack-use'],
  ])('GIVEN alarms.%s false THEN that alarm alone is left out', (option, name) => {
    const { alarms } = alarmsOf({ alarms: { [option]: false } });
    expect(Object.keys(alarms)).toHaveLength(3);
    expect(alarms[name]).toBeUndefined();
  });

  it('GIVEN every alarm off THEN no alarm and no data source for their actions', () => {
    const { alarms, json } = alarmsOf({
      alarms: { recoverOnSystemFailure: false, rebootOnInstanceFailure: false, egressProbe: false, connectionTracking: false },
    });
    expect(alarms).toEqual({});
    expect(Object.keys(json.data?.aws_region ?? {})).toEqual([]);
  });

  it('GIVEN metrics false THEN no publisher policy and no alarm on published metrics; the EC2 alarms stay', () => {
    const synth = synthesize((stack) => natOnExampleNetwork(stack, { metrics: false }).nat);
    expect(
      Object.values(synth.resources('aws_cloudwatch_metric_alarm'))
        .map((alarm) => alarm.metric_name)
        .sort(),
    ).toEqual(['StatusCheckFailed_Instance', 'StatusCheckFailed_System']);
    expect(synth.resources('aws_iam_policy')).toEqual({});
  });

  it('GIVEN selfHealing THEN only the alarms on published metrics exist: the group heals the instance, whose ID changes', () => {
    const { alarms } = alarmsOf({ selfHealing: true });
    expect(
      Object.values(alarms)
        .map((alarm) => alarm.metric_name)
        .sort(),
    ).toEqual(['ConntrackUsePercent', 'EgressProbe']);
  });

  it.each([
    [
      'a status-check alarm asked for on a self-healing NAT',
      { selfHealing: true, alarms: { recoverOnSystemFailure: true } },
      "'alarms.recoverOnSystemFailure' watches one instance, and 'selfHealing' replaces it",
    ],
    [
      'an alarm on published metrics asked for without metrics',
      { metrics: false, alarms: { egressProbe: true } },
      "'alarms.egressProbe' needs 'metrics' (it is false)",
    ],
    [
      'a topic that is not an SNS topic ARN',
      { alarms: { topicArn: 'arn:aws:sqs:eu-central-1:111122223333:queue' } },
      "'alarms.topicArn' must be an SNS topic ARN like arn:aws:sns:",
    ],
    [
      'a probe URL that is not http(s)',
      { egressProbeUrl: 'ftp://example.com/' },
      "'egressProbeUrl' must be an http or https URL, got 'ftp://example.com/'",
    ],
  ])('GIVEN %s THEN synth refuses it, naming the prop', (_case, props, message) => {
    expect(synthError((stack) => natOnExampleNetwork(stack, props as Partial<NatInstanceProps>))).toContain(message);
  });
});

describe('nat-module alarms, decided by its variables (terraform console)', () => {
  const json = synthesizeStack(new NatModuleStack(new App(), 'nat-module')).json;
  const alarms = Object.values<TfBlock>(json.resource.aws_cloudwatch_metric_alarm);
  const byMetric = (metric: string) => alarms.find((alarm) => alarm.metric_name === metric)!;
  const defaults = {
    alarm_recover_on_system_failure: { type: 'bool', value: true },
    alarm_reboot_on_instance_failure: { type: 'bool', value: true },
    alarm_egress_probe: { type: 'bool', value: true },
    alarm_connection_tracking: { type: 'bool', value: true },
    metrics: { type: 'bool', value: true },
    alarm_topic_arn: { type: 'string', value: null as string | null },
  };
  const evaluate = (expression: string, variables: Partial<typeof defaults>) =>
    evaluateTerraformValue(expression, { ...PLAN_VALUES, variables: { ...defaults, ...variables } });

  it.each([
    ['the defaults', {}, { StatusCheckFailed_System: 1, StatusCheckFailed_Instance: 1, EgressProbe: 1, ConntrackUsePercent: 1 }],
    [
      'metrics off',
      { metrics: { type: 'bool', value: false } },
      { StatusCheckFailed_System: 1, StatusCheckFailed_Instance: 1, EgressProbe: 0, ConntrackUsePercent: 0 },
    ],
    [
      'recovery off',
      { alarm_recover_on_system_failure: { type: 'bool', value: false } },
      { StatusCheckFailed_System: 0, StatusCheckFailed_Instance: 1, EgressProbe: 1, ConntrackUsePercent: 1 },
    ],
    [
      'the probe alarm off',
      { alarm_egress_probe: { type: 'bool', value: false } },
      { StatusCheckFailed_System: 1, StatusCheckFailed_Instance: 1, EgressProbe: 0, ConntrackUsePercent: 1 },
    ],
  ] as const)('WHEN %s THEN the right alarms exist', (_case, variables, expected) => {
    const counts = Object.fromEntries(Object.keys(expected).map((metric) => [metric, evaluate(byMetric(metric).count, variables)]));
    expect(counts).toEqual(expected);
  });

  it('WHEN alarm_topic_arn is unset THEN the recovery alarm only recovers; WHEN set THEN it also notifies', () => {
    const recover = byMetric('StatusCheckFailed_System');
    expect(evaluate(recover.alarm_actions, {})).toEqual(['arn:aws:automate:eu-central-1:ec2:recover']);
    expect(evaluate(recover.ok_actions, {})).toEqual([]);
    expect(evaluate(recover.alarm_actions, { alarm_topic_arn: { type: 'string', value: TOPIC } })).toEqual([
      'arn:aws:automate:eu-central-1:ec2:recover',
      TOPIC,
    ]);
    expect(evaluate(byMetric('EgressProbe').ok_actions, { alarm_topic_arn: { type: 'string', value: TOPIC } })).toEqual([TOPIC]);
  });

  it('THEN the metrics policy exists only with metrics', () => {
    const policy = Object.values<TfBlock>(json.resource.aws_iam_policy).find((block) => String(block.name).endsWith('-metrics'))!;
    expect(evaluate(policy.count, {})).toBe(1);
    expect(evaluate(policy.count, { metrics: { type: 'bool', value: false } })).toBe(0);
  });
});

describe('NatInstance with token metrics (a module variable)', () => {
  it('THEN the publisher is installed and its timer started only when Terraform finds metrics true', () => {
    const json = synthesizeStack(new NatModuleStack(new App(), 'nat-module')).json;
    const userData = json.locals[Object.keys(json.locals).find((name) => name.includes('user_data'))!] as string;
    expect(userData).toContain(
      '  - ${var.metrics ? "systemctl enable --now nat-metrics.timer" : "echo nat-metrics publisher switched off"}',
    );
  });
});
