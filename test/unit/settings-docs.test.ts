/**
 * The settings tables in the READMEs are produced from the settings table
 * (modules/nat/nat-settings.ts) by `npm run docs`: a README that drifted from it fails here.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { generatedSections, withSection } from '../../scripts/docs/settings-tables';

describe('generated settings documentation', () => {
  test.each(generatedSections().map((section) => [section.file, section.section, section.content]))(
    '%s: the %s section is what npm run docs produces from the table',
    (file, section, content) => {
      const text = readFileSync(join(__dirname, '..', '..', file), 'utf8');
      expect(withSection(text, section, content)).toBe(text);
    },
  );

  test('every table entry appears in the generated NatInstance documentation, with its rule in words', () => {
    const [nat] = generatedSections();
    for (const phrase of [
      '`interfaceWaitSeconds`',
      'a whole number from 0 to 3600',
      '`allow_any_client_source`',
      'must not start with sg-',
      'covering 2^25 addresses or more needs `allowAnySource`',
    ]) {
      expect(nat.content).toContain(phrase);
    }
  });
});
