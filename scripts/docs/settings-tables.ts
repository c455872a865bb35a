/**
 * The documentation tables of the settings, produced from the settings table
 * (`modules/nat/nat-settings.ts`) and written between markers in the READMEs:
 *
 *   npm run docs           # rewrites the generated sections
 *
 * `test/unit/settings-docs.test.ts` fails when a README's section differs from what this produces.
 */
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { EXISTING_INSTANCE_SETTINGS, NAT_INSTANCE_SETTINGS, PORT_FORWARD_SETTINGS } from '../../modules/nat/nat-settings';
import { describeSetting, Setting } from '../../modules/shared/setting-rules';

const ROOT = join(__dirname, '..', '..');

const cell = (text: string) => text.replace(/\|/g, '\\|');
const code = (text: string | undefined) => (text ? `\`${text}\`` : '—');

function defaultOf(setting: Setting): string {
  if (setting.defaultText) return cell(setting.defaultText);
  if (setting.default === undefined) return '—';
  return code(typeof setting.default === 'string' ? `'${setting.default}'` : JSON.stringify(setting.default));
}

/** A construct's props; `variable` renders an entry's module variable, when the construct has a module. */
function propsTable(settings: Record<string, Setting>, prefix: string, variable?: (name: string) => string): string {
  const header = variable
    ? '| prop | module variable | boot setting | accepts | default | what |'
    : '| prop | boot setting | accepts | default | what |';
  const rows = Object.values(settings).map((s) => {
    const cells = [
      code(prefix + s.prop),
      ...(variable ? [code(s.variable && variable(s.variable))] : []),
      code(s.setting),
      cell(describeSetting(s)),
      defaultOf(s),
      cell(s.summary),
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [header, header.replace(/[^|]+/g, '---'), ...rows].join('\n');
}

/** The boot script's settings file: one row per key, from the table entries that reach it. */
function bootSettingsTable(): string {
  const all = [...Object.values(NAT_INSTANCE_SETTINGS), ...Object.values(EXISTING_INSTANCE_SETTINGS)];
  const keys = [...new Set(all.flatMap((s) => (s.setting && s.setting !== 'NAT_PORT_FORWARD' ? [s.setting] : [])))];
  const rows = keys.map((key) => {
    const sources = [...new Set(all.filter((s) => s.setting === key).map((s) => s.prop))];
    const first = all.find((s) => s.setting === key)!;
    const accepts = first.list ? `comma-separated; ${describeSetting({ ...first, list: { minItems: 1 } })}` : describeSetting(first);
    return `| \`${key}\` | ${sources.map((prop) => code(prop)).join(', ')} | ${cell(accepts)} | ${defaultOf(first)} |`;
  });
  const fields = Object.values(PORT_FORWARD_SETTINGS).filter((s) => s.setting === 'NAT_PORT_FORWARD');
  const fieldWords = fields.map(
    (s) =>
      `${s.variable}: ${s.type === 'bool' ? '`preserve` or `masquerade`' : describeSetting({ ...s, list: s.list && { minItems: 1 } })}`,
  );
  rows.push(
    `| \`NAT_PORT_FORWARD\` | ${code('portForwards')} | ${cell(`repeatable: \`<protocol> <public_port> <target_ip> <target_port> <preserve|masquerade> <allowed_cidrs,…>\`; ${fieldWords.join('; ')}`)} | none |`,
  );
  return ['| key | from (prop) | accepts | default |', '|---|---|---|---|', ...rows].join('\n');
}

/** Every generated section: file, section name, content. */
export function generatedSections(): Array<{ file: string; section: string; content: string }> {
  return [
    {
      file: 'modules/nat/README.md',
      section: 'settings',
      content: [
        '`NatInstance`:',
        '',
        propsTable(NAT_INSTANCE_SETTINGS, '', (name) => name),
        '',
        'Each entry of `portForwards` (the module: each object of `port_forwards`):',
        '',
        propsTable(PORT_FORWARD_SETTINGS, 'portForwards[*].', (name) => `port_forwards[*].${name}`),
        '',
        '`ExistingInstanceNat`:',
        '',
        propsTable(EXISTING_INSTANCE_SETTINGS, ''),
      ].join('\n'),
    },
    { file: 'modules/nat/boot/README.md', section: 'boot-settings', content: bootSettingsTable() },
  ];
}

const begin = (section: string) => `<!-- generated:${section} (npm run docs; from modules/nat/nat-settings.ts) -->`;
const end = (section: string) => `<!-- end generated:${section} -->`;

/** The file's text with the section replaced; throws when its markers are missing. */
export function withSection(text: string, section: string, content: string): string {
  const start = text.indexOf(begin(section));
  const stop = text.indexOf(end(section));
  if (start < 0 || stop < start)
    throw new Error(`markers of the generated section '${section}' are missing: add ${begin(section)} and ${end(section)}`);
  return `${text.slice(0, start)}${begin(section)}\n${content}\n${text.slice(stop)}`;
}

if (require.main === module) {
  for (const { file, section, content } of generatedSections()) {
    const path = join(ROOT, file);
    const before = readFileSync(path, 'utf8');
    const after = withSection(before, section, content);
    if (after !== before) writeFileSync(path, after);
    console.log(`${file}: ${section} ${after === before ? 'up to date' : 'rewritten'}`);
  }
}
