import { readFileSync } from 'fs';
import { join } from 'path';

/**
 * The contract between the NatInstance construct and the metrics publisher
 * (`boot/nat-metrics.sh`): where the user data puts it, the settings file it reads, the systemd
 * units that run it once a minute, and the namespace its IAM policy is limited to. Its region it
 * asks instance metadata for, so the user data holds no Terraform reference.
 *
 * | key | value |
 * |---|---|
 * | NAT_METRICS_NAMESPACE | CloudWatch namespace (`METRICS_NAMESPACE`) |
 * | NAT_METRICS_NAME | the `NatName` dimension: the NAT's name |
 * | NAT_METRICS_PROBE_URL | what the egress probe fetches through the public interface |
 */
export const METRICS_NAMESPACE = 'cdktf-nat-instance';
/** The dimension every metric carries: survives a replaced instance, unlike an instance ID. */
export const METRICS_DIMENSION = 'NatName';
export const METRIC_NAMES = {
  egressProbe: 'EgressProbe',
  conntrackUsePercent: 'ConntrackUsePercent',
  ownedRouteTables: 'OwnedRouteTables',
} as const;

export const METRICS_SETTINGS_PATH = '/etc/nat-instance/metrics';
/** Under /var/lib like cloud-init's own scripts: the instance's disk, not the image. */
export const METRICS_SCRIPT_PATH = '/var/lib/nat-instance/nat-metrics.sh';
export const METRICS_SERVICE_PATH = '/etc/systemd/system/nat-metrics.service';
export const METRICS_TIMER_PATH = '/etc/systemd/system/nat-metrics.timer';
/** What the egress probe fetches by default: an AWS endpoint that answers any caller with its address. */
export const DEFAULT_EGRESS_PROBE_URL = 'https://checkip.amazonaws.com/';

export interface MetricsSettings {
  /** The `NatName` dimension. May be a token. */
  readonly name: string;
  readonly probeUrl: string;
  /**
   * Enable the timer at first boot; a token (module variable) leaves the files in place and
   * decides with a conditional command.
   */
  readonly enabled: boolean;
}

/** The publisher exactly as it is shipped (and as the lab runs it). */
export function readMetricsScript(): string {
  return readFileSync(join(__dirname, 'boot', 'nat-metrics.sh'), 'utf8');
}

export function renderMetricsSettingsFile(settings: MetricsSettings): string {
  return [
    '# Written by cdktf-nat-instance; read by nat-metrics.sh once a minute.',
    `NAT_METRICS_NAMESPACE=${METRICS_NAMESPACE}`,
    `NAT_METRICS_NAME=${settings.name}`,
    `NAT_METRICS_PROBE_URL=${settings.probeUrl}`,
    '',
  ].join('\n');
}

export const METRICS_SERVICE_UNIT = `[Unit]
Description=cdktf-nat-instance: publish the NAT's health metrics to CloudWatch
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=${METRICS_SCRIPT_PATH}
TimeoutStartSec=50
`;

export const METRICS_TIMER_UNIT = `[Unit]
Description=cdktf-nat-instance: publish the NAT's health metrics every minute

[Timer]
OnBootSec=60
OnUnitActiveSec=60
AccuracySec=5

[Install]
WantedBy=timers.target
`;
