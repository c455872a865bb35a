import { readFileSync } from 'fs';
import { join } from 'path';
import { METRICS_NAMESPACE } from './metrics-settings';

/**
 * The contract between the NatGroup construct and the health agent (`boot/nat-health-agent.sh`):
 * its settings file, its systemd unit and where both land. See boot/health-agent.README.md.
 */
export const HEALTH_AGENT_PATH = '/usr/local/sbin/nat-health-agent';
export const HEALTH_AGENT_SETTINGS_PATH = '/etc/nat-instance/health-agent';
export const HEALTH_AGENT_UNIT_PATH = '/etc/systemd/system/nat-health-agent.service';
/** What the agent knows (own health, route tables it holds, peers), rewritten every round. */
export const HEALTH_AGENT_STATE_PATH = '/run/nat-instance/health-agent.state';

/** The agent's timing: defaults aim at egress back within 10 s of a NAT failing. */
export interface HealthCheckSettings {
  /**
   * Seconds between two rounds (own checks, heartbeat, reads, decisions).
   * @default 2
   */
  readonly intervalSeconds?: number;
  /**
   * Failed own checks in a row before a NAT calls itself unhealthy (and its peers take its tables).
   * @default 2
   */
  readonly failures?: number;
  /**
   * Passed own checks in a row before an unhealthy NAT calls itself healthy again.
   * @default 2
   */
  readonly recoveries?: number;
  /**
   * A peer whose heartbeat has not advanced for this long is dead.
   * @default 6
   */
  readonly peerDeadSeconds?: number;
  /**
   * A recovered NAT takes its own tables back only after it has published "healthy" for this long,
   * so its peers see it alive first and nobody fights over a table.
   * @default 4
   */
  readonly failbackHoldSeconds?: number;
  /**
   * A NAT writes one route table at most once in this period (no flapping).
   * @default 6
   */
  readonly tableWriteHoldSeconds?: number;
  /**
   * The outbound probe each NAT sends through its own public interface.
   * @default 'https://checkip.amazonaws.com/'
   */
  readonly probeUrl?: string;
}

export const HEALTH_CHECK_DEFAULTS: Required<HealthCheckSettings> = {
  intervalSeconds: 2,
  failures: 2,
  recoveries: 2,
  peerDeadSeconds: 6,
  failbackHoldSeconds: 4,
  tableWriteHoldSeconds: 6,
  probeUrl: 'https://checkip.amazonaws.com/',
};

/** Everything one member's agent is told. */
export interface HealthAgentSettings {
  readonly groupName: string;
  readonly self: string;
  /** Members in takeover order, each with its home route tables (may be Terraform references). */
  readonly members: ReadonlyArray<{ readonly name: string; readonly routeTableIds: string[] }>;
  readonly healthCheck: Required<HealthCheckSettings>;
  /**
   * The `NatName` dimension the agent publishes its metrics under (namespace `METRICS_NAMESPACE`),
   * once a minute; none: no metrics.
   */
  readonly metricsName?: string;
}

/** The SSM parameter a member publishes its heartbeat to. */
export function heartbeatParameterName(groupName: string, member: string): string {
  return `/nat-instance/${groupName}/${member}/heartbeat`;
}

export function readHealthAgentScript(): string {
  return readFileSync(join(__dirname, 'boot', 'nat-health-agent.sh'), 'utf8');
}

export function renderHealthAgentSettings(settings: HealthAgentSettings): string {
  const check = settings.healthCheck;
  return [
    '# Written by cdktf-nat-instance; read by nat-health-agent at start.',
    `NAT_GROUP_NAME=${settings.groupName}`,
    `NAT_GROUP_SELF=${settings.self}`,
    `NAT_GROUP_MEMBERS=${settings.members.map((member) => `${member.name}=${member.routeTableIds.join('+')}`).join(',')}`,
    `NAT_HEALTH_PROBE_URL=${check.probeUrl}`,
    `NAT_HEALTH_INTERVAL_SECONDS=${check.intervalSeconds}`,
    `NAT_HEALTH_FAILURES=${check.failures}`,
    `NAT_HEALTH_RECOVERIES=${check.recoveries}`,
    `NAT_PEER_DEAD_SECONDS=${check.peerDeadSeconds}`,
    `NAT_FAILBACK_HOLD_SECONDS=${check.failbackHoldSeconds}`,
    `NAT_TABLE_WRITE_HOLD_SECONDS=${check.tableWriteHoldSeconds}`,
    ...(settings.metricsName === undefined
      ? []
      : [`NAT_METRICS_NAMESPACE=${METRICS_NAMESPACE}`, `NAT_METRICS_NAME=${settings.metricsName}`]),
    '',
  ].join('\n');
}

/** Started after cloud-init's final stage (the boot script has run); restarted if it ever exits. */
export const HEALTH_AGENT_UNIT = `[Unit]
Description=cdktf-nat-instance health agent (cross-zone NAT failover)
Wants=network-online.target
After=network-online.target cloud-final.service

[Service]
ExecStart=${HEALTH_AGENT_PATH}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
