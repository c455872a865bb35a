import { readFileSync } from 'fs';
import { join } from 'path';
import { escapeForTerraform } from '../shared/terraform-expressions';
import { BOOT_SCRIPT_PATH, LOG_PATH, NatBootSettings, renderSettingsFile, SETTINGS_PATH } from './boot-settings';

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

/** Renders the NAT instance's user data: a readable `#cloud-config` document with the entries above. */
export function renderNatUserData(settings: NatBootSettings, script: string = readBootScript()): string {
  return [
    '#cloud-config',
    '# cdktf-nat-instance: NAT settings plus the script that applies them at every boot.',
    `# Log: ${LOG_PATH}. Settings: ${SETTINGS_PATH}.`,
    'write_files:',
    renderNatWriteFiles(settings, script),
    '',
  ].join('\n');
}
