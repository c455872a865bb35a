import { readFileSync } from 'fs';
import { join } from 'path';
import { Fn, Token } from 'cdktf';
import { escapeForTerraform } from '../shared/terraform-expressions';
import { BOOT_SCRIPT_PATH, LOG_PATH, NatBootSettings, renderSettingsFile, SETTINGS_PATH } from './boot-settings';
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

/** The command that starts the metrics timer at first boot (and enables it for every boot after). */
const ENABLE_METRICS_TIMER = 'systemctl enable --now nat-metrics.timer';

/**
 * The metrics publisher's `write_files` entries (settings, script, systemd units) and the
 * `runcmd` item that enables its timer; a token `enabled` becomes a conditional command.
 */
function renderMetricsParts(metrics: MetricsSettings): { writeFiles: string; runcmd: string } {
  const writeFiles = [
    writeFileEntry(METRICS_SETTINGS_PATH, '0644', renderMetricsSettingsFile(metrics)),
    writeFileEntry(METRICS_SCRIPT_PATH, '0755', escapeForTerraform(readMetricsScript())),
    writeFileEntry(METRICS_SERVICE_PATH, '0644', METRICS_SERVICE_UNIT),
    writeFileEntry(METRICS_TIMER_PATH, '0644', METRICS_TIMER_UNIT),
  ].join('\n');
  const command = Token.isUnresolved(metrics.enabled)
    ? Fn.conditional(metrics.enabled, ENABLE_METRICS_TIMER, 'echo nat-metrics publisher switched off')
    : ENABLE_METRICS_TIMER;
  return { writeFiles, runcmd: `  - ${Token.asString(command)}` };
}

/**
 * Renders the NAT instance's user data: a readable `#cloud-config` document with the entries
 * above and, with `metrics`, the metrics publisher and the command that starts its timer.
 */
export function renderNatUserData(settings: NatBootSettings, script: string = readBootScript(), metrics?: MetricsSettings): string {
  const publisher = metrics === undefined || metrics.enabled === false ? undefined : renderMetricsParts(metrics);
  return [
    '#cloud-config',
    '# cdktf-nat-instance: NAT settings plus the script that applies them at every boot.',
    `# Log: ${LOG_PATH}. Settings: ${SETTINGS_PATH}.`,
    'write_files:',
    renderNatWriteFiles(settings, script),
    ...(publisher ? [publisher.writeFiles, 'runcmd:', publisher.runcmd] : []),
    '',
  ].join('\n');
}
