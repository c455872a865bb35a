import { Construct } from 'constructs';
import { Fn, Op, Token } from 'cdktf';
import { CloudwatchMetricAlarm, CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { countWhen } from '../shared/terraform-expressions';
import { METRIC_NAMES, METRICS_DIMENSION, METRICS_NAMESPACE } from './metrics-settings';

/** Which alarms a NAT instance gets; every switch may be a token (module variable). */
export interface NatAlarmOptions {
  /**
   * `StatusCheckFailed_System` (the host under the instance failed) → EC2 recovers the instance:
   * same instance ID, interfaces, addresses and volumes, on healthy hardware.
   * @default true
   */
  readonly recoverOnSystemFailure?: boolean;
  /**
   * `StatusCheckFailed_Instance` (the instance's OS stopped answering) → EC2 reboots it; the
   * boot script then configures the NAT again.
   * @default true
   */
  readonly rebootOnInstanceFailure?: boolean;
  /**
   * The metrics publisher's `EgressProbe` failing (or missing) for 3 minutes. Needs `metrics`.
   * @default true
   */
  readonly egressProbe?: boolean;
  /**
   * `ConntrackUsePercent` above 80 % for 3 minutes: new connections will soon be dropped.
   * Needs `metrics`.
   * @default true
   */
  readonly connectionTracking?: boolean;
  /**
   * An SNS topic told when any alarm fires and when it clears. May be a token that is null.
   * @default no notifications (recovery and reboot still happen)
   */
  readonly topicArn?: string;
}

/** The connection-tracking alarm's threshold, in percent of `nf_conntrack_max`. */
export const CONNTRACK_ALARM_PERCENT = 80;

export interface NatAlarmsProps {
  readonly name: string;
  /** The instance the status-check alarms watch; none for a self-healing NAT (each replacement has a new ID). */
  readonly instanceId?: string;
  readonly options: NatAlarmOptions;
  /** Whether the publisher runs (the metric alarms need its data); may be a token. */
  readonly metrics: boolean;
  readonly tags: Record<string, string>;
}

/**
 * The NAT's CloudWatch alarms: EC2's automatic recovery on a failed system status check, a
 * reboot on a failed instance status check, and alarms on the publisher's metrics. Each one
 * notifies the optional SNS topic when it fires and when it clears.
 */
export class NatAlarms extends Construct {
  /** The alarms by switch; counted resources when the switch is a token. */
  public readonly alarms: Partial<Record<keyof Omit<NatAlarmOptions, 'topicArn'>, CloudwatchMetricAlarm>> = {};

  constructor(scope: Construct, id: string, props: NatAlarmsProps) {
    super(scope, id);
    const options = props.options;
    // The EC2 actions' ARNs name the partition and region (data sources, read only when needed).
    let where: { partition: string; region: string } | undefined;
    const ec2Action = (action: 'recover' | 'reboot') => {
      where ??= { partition: new DataAwsPartition(this, 'partition').partition, region: new DataAwsRegion(this, 'region').id };
      return `arn:${where.partition}:automate:${where.region}:ec2:${action}`;
    };
    const topic = options.topicArn;
    // A topic ARN from a module variable may be null: then no topic in the action lists.
    const notify: string[] =
      topic === undefined
        ? []
        : Token.isUnresolved(topic)
          ? Token.asList(Fn.conditional(Op.eq(topic, Token.nullValue()), [], [topic]))
          : [topic];
    const withNotify = (actions: string[]): string[] =>
      Token.isUnresolved(notify) ? Token.asList(Fn.concat([actions, notify])) : [...actions, ...notify];

    // The configuration is built only for an alarm that may exist (the EC2 actions need a data source).
    const alarm = (switchName: keyof NatAlarms['alarms'], enabled: boolean, config: () => Omit<CloudwatchMetricAlarmConfig, 'count'>) => {
      if (enabled === false) return;
      this.alarms[switchName] = new CloudwatchMetricAlarm(this, switchName, {
        ...config(),
        count: Token.isUnresolved(enabled) ? countWhen(enabled) : undefined,
        okActions: notify,
        tags: props.tags,
      });
    };
    const instance = {
      namespace: 'AWS/EC2',
      dimensions: { InstanceId: props.instanceId ?? '' },
      period: 60,
      statistic: 'Maximum',
      threshold: 1,
    };
    const onInstance = (enabled: boolean) => (props.instanceId === undefined ? false : enabled);
    alarm('recoverOnSystemFailure', onInstance(options.recoverOnSystemFailure ?? true), () => ({
      ...instance,
      alarmName: `${props.name}-system-status-recover`,
      alarmDescription: `NAT ${props.name}: the host under the instance failed its status check for 2 minutes; EC2 recovers the instance onto healthy hardware.`,
      metricName: 'StatusCheckFailed_System',
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 2,
      alarmActions: withNotify([ec2Action('recover')]),
    }));
    alarm('rebootOnInstanceFailure', onInstance(options.rebootOnInstanceFailure ?? true), () => ({
      ...instance,
      alarmName: `${props.name}-instance-status-reboot`,
      alarmDescription: `NAT ${props.name}: the instance failed its status check for 3 minutes; EC2 reboots it.`,
      metricName: 'StatusCheckFailed_Instance',
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 3,
      alarmActions: withNotify([ec2Action('reboot')]),
    }));
    const published = {
      namespace: METRICS_NAMESPACE,
      dimensions: { [METRICS_DIMENSION]: props.name },
      period: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    };
    const withMetrics = (enabled: boolean) => andAlso(enabled, props.metrics);
    alarm('egressProbe', withMetrics(options.egressProbe ?? true), () => ({
      ...published,
      alarmName: `${props.name}-egress-probe`,
      alarmDescription: `NAT ${props.name}: egress through the NAT failed (or nothing was published) for 3 minutes.`,
      metricName: METRIC_NAMES.egressProbe,
      statistic: 'Minimum',
      comparisonOperator: 'LessThanThreshold',
      threshold: 1,
      // No data means the publisher, or the instance, is gone: that is the news too.
      treatMissingData: 'breaching',
      alarmActions: notify,
    }));
    alarm('connectionTracking', withMetrics(options.connectionTracking ?? true), () => ({
      ...published,
      alarmName: `${props.name}-conntrack-use`,
      alarmDescription: `NAT ${props.name}: connection tracking above ${CONNTRACK_ALARM_PERCENT} % of its table for 3 minutes; new connections will soon be dropped (raise conntrackMax or the instance size).`,
      metricName: METRIC_NAMES.conntrackUsePercent,
      statistic: 'Maximum',
      comparisonOperator: 'GreaterThanThreshold',
      threshold: CONNTRACK_ALARM_PERCENT,
      treatMissingData: 'notBreaching',
      alarmActions: notify,
    }));
  }
}

/**
 * The alarms on published metrics need the publisher: asking for one of them explicitly with
 * `metrics: false` is a contradiction (left at its default, it is simply not created).
 */
export function validateAlarmOptions(
  options: NatAlarmOptions | undefined,
  metrics: boolean | undefined,
  selfHealing: boolean | undefined,
): void {
  if (metrics === false) {
    for (const key of ['egressProbe', 'connectionTracking'] as const) {
      if (options?.[key] === true)
        throw new Error(`'alarms.${key}' needs 'metrics' (it is false): the alarm watches what the publisher sends`);
    }
  }
  // The Auto Scaling group replaces an unhealthy instance itself, and each replacement has a new ID.
  if (selfHealing === true) {
    for (const key of ['recoverOnSystemFailure', 'rebootOnInstanceFailure'] as const) {
      if (options?.[key] === true)
        throw new Error(`'alarms.${key}' watches one instance, and 'selfHealing' replaces it: the Auto Scaling group heals it instead`);
    }
  }
}

/** `a && b` for switches that may be tokens. */
function andAlso(a: boolean, b: boolean): boolean {
  if (!Token.isUnresolved(a) && !Token.isUnresolved(b)) return a && b;
  if (a === false || b === false) return false;
  return Token.asAny(Op.and(a, b)) as unknown as boolean;
}
