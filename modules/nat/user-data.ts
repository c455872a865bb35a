import { readFileSync } from 'fs';
import { join } from 'path';
import { Fn, Token } from 'cdktf';
import { escapeForTerraform } from '../shared/terraform-expressions';
import { compactScript } from './compact-script';
import { BOOT_SCRIPT_PATH, LOG_PATH, NatBootSettings, renderSettingsFile, SETTINGS_PATH } from './boot-settings';
import {
  HEALTH_AGENT_PATH,
  HEALTH_AGENT_SETTINGS_PATH,
  HEALTH_AGENT_UNIT,
  HEALTH_AGENT_UNIT_PATH,
  HealthAgentSettings,
  readHealthAgentScript,
  renderHealthAgentSettings,
} from './health-agent';
import {
  METRICS_SCRIPT_PATH,
  METRICS_SERVICE_PATH,
  METRICS_SERVICE_UNIT,
  METRICS_SETTINGS_PATH,
  METRICS_TIMER_PATH,
  METRICS_TIMER_UNIT,
  MetricsSettings,
  readMetricsScript,
  renderMetricsSettingsFile,
} from './metrics-settings';

/** The boot script exactly as it is shipped (and as the lab runs it). */
export function readBootScript(): string {
  return readFileSync(join(__dirname, 'boot', 'nat-instance.sh'), 'utf8');
}

/** Indents every non-empty line so the text fits a YAML block scalar. */
function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((line) => (line.length > 0 ? pad + line : line))
    .join('\n');
}

/** How far the lines of a `write_files` entry's content are indented. */
const CONTENT_INDENT = ' '.repeat(6);

/** One `write_files` entry with its content as a literal block scalar. */
function writeFileEntry(path: string, permissions: string, content: string): string {
  return [
    `  - path: ${path}`,
    '    owner: root:root',
    `    permissions: '${permissions}'`,
    '    content: |',
    indent(content.endsWith('\n') ? content.slice(0, -1) : content, CONTENT_INDENT),
  ].join('\n');
}

/**
 * The `write_files` entries (YAML list items under `write_files:`) that install the settings file
 * and the per-boot script. The script is escaped for Terraform; the settings keep their Terraform
 * interpolations (resource IDs, token lists). Hosts with a cloud-config of their own append these.
 */
export function renderNatWriteFiles(settings: NatBootSettings, script: string = readBootScript()): string {
  return [
    writeFileEntry(SETTINGS_PATH, '0644', renderSettingsFile(settings, CONTENT_INDENT)),
    writeFileEntry(BOOT_SCRIPT_PATH, '0755', escapeForTerraform(script)),
  ].join('\n');
}

/**
 * The health agent of a NAT group: its script, settings and systemd unit (`write_files` entries),
 * and the `runcmd` that enables and starts it once cloud-init has run the boot script.
 */
function renderHealthAgentParts(agent: HealthAgentSettings): { writeFiles: string; runcmd: string[] } {
  return {
    writeFiles: [
      writeFileEntry(HEALTH_AGENT_SETTINGS_PATH, '0644', renderHealthAgentSettings(agent)),
      writeFileEntry(HEALTH_AGENT_PATH, '0755', escapeForTerraform(compactScript(readHealthAgentScript()))),
      writeFileEntry(HEALTH_AGENT_UNIT_PATH, '0644', HEALTH_AGENT_UNIT),
    ].join('\n'),
    // runcmd runs after the per-boot scripts (cloud-init's final stage), once; the unit is enabled for later boots.
    runcmd: ['  - [systemctl, daemon-reload]', '  - [systemctl, enable, --now, nat-health-agent.service]'],
  };
}

/** The command that starts the metrics timer at first boot (and enables it for every boot after). */
const ENABLE_METRICS_TIMER = 'systemctl enable --now nat-metrics.timer';

/**
 * The metrics publisher's `write_files` entries (settings, compacted script, systemd units)
 * and the `runcmd` item that enables its timer; a token `enabled` becomes a conditional command.
 */
function renderMetricsParts(metrics: MetricsSettings): { writeFiles: string; runcmd: string[] } {
  const writeFiles = [
    writeFileEntry(METRICS_SETTINGS_PATH, '0644', renderMetricsSettingsFile(metrics)),
    writeFileEntry(METRICS_SCRIPT_PATH, '0755', escapeForTerraform(compactScript(readMetricsScript()))),
    writeFileEntry(METRICS_SERVICE_PATH, '0644', METRICS_SERVICE_UNIT),
    writeFileEntry(METRICS_TIMER_PATH, '0644', METRICS_TIMER_UNIT),
  ].join('\n');
  const command = Token.isUnresolved(metrics.enabled)
    ? Fn.conditional(metrics.enabled, ENABLE_METRICS_TIMER, 'echo nat-metrics publisher switched off')
    : ENABLE_METRICS_TIMER;
  return { writeFiles, runcmd: [`  - ${Token.asString(command)}`] };
}

/** What a NAT instance's user data carries besides the settings and the boot script. */
export interface NatUserDataExtras {
  /** The health agent of a NAT group. */
  readonly healthAgent?: HealthAgentSettings;
  /** The metrics publisher (left out when `enabled` is false). */
  readonly metrics?: MetricsSettings;
}

/**
 * Renders the NAT instance's user data: a readable `#cloud-config` document with the entries above,
 * plus the health agent of a NAT group and the metrics publisher when given, and the `runcmd`
 * that starts them.
 */
export function renderNatUserData(settings: NatBootSettings, script: string = readBootScript(), extras: NatUserDataExtras = {}): string {
  const metricsSettings = extras.metrics?.enabled === false ? undefined : extras.metrics;
  // A group member's health agent publishes the metrics itself: its user data has no room for the
  // publisher (EC2's 16 KB), and the agent already knows the probe result and the tables it holds.
  const agent = extras.healthAgent ? renderHealthAgentParts({ ...extras.healthAgent, metricsName: metricsSettings?.name }) : undefined;
  const metrics = metricsSettings && !agent ? renderMetricsParts(metricsSettings) : undefined;
  const parts = [agent, metrics].filter((part): part is NonNullable<typeof part> => part !== undefined);
  const runcmd = parts.flatMap((part) => part.runcmd);
  return [
    '#cloud-config',
    '# cdktf-nat-instance: NAT settings plus the script that applies them at every boot.',
    `# Log: ${LOG_PATH}. Settings: ${SETTINGS_PATH}.`,
    'write_files:',
    renderNatWriteFiles(settings, parts.length > 0 ? compactScript(script) : script),
    ...parts.map((part) => part.writeFiles),
    ...(runcmd.length > 0 ? ['runcmd:', ...runcmd] : []),
    '',
  ].join('\n');
}
