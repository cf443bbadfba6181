import { describe, expect, it } from 'vitest';
import { isAllowedExternalUrl } from '../../src-main/external-links';

const nodeUrl = 'http://127.0.0.1:41234';

describe('isAllowedExternalUrl', () => {
  it.each([
    'https://annuaire.sante.fr/web/site-pro/recherche',
    'https://esante.gouv.fr/produits-services/pro-sante-connect',
    `${nodeUrl}/auth/login?mode=loopback`,
  ])('opens %s in the browser', (url) => {
    expect(isAllowedExternalUrl(url, { nodeUrl })).toBe(true);
  });

  it.each([
    ['plain http to an allowed host', 'http://annuaire.sante.fr/'],
    ['a look-alike host', 'https://annuaire.sante.fr.evil.example/'],
    ['a sub-domain not listed', 'https://evil.esante.gouv.fr/'],
    ['credentials in the URL', 'https://user:pw@annuaire.sante.fr/'],
    ['the node outside its login pages', `${nodeUrl}/fhir/Patient`],
    ['another local port', 'http://127.0.0.1:9999/auth/login'],
    ['a file', 'file:///etc/passwd'],
    ['a script', 'javascript:alert(1)'],
    ['a custom scheme', 'ms-msdt:/id'],
    ['not a URL', 'annuaire.sante.fr'],
    ['a non-string', { toString: (): string => 'https://annuaire.sante.fr/' }],
    ['a huge URL', `https://annuaire.sante.fr/${'a'.repeat(3000)}`],
  ])('refuses %s', (_why, url) => {
    expect(isAllowedExternalUrl(url, { nodeUrl })).toBe(false);
  });

  it('refuses the node login pages when no node runs', () => {
    expect(isAllowedExternalUrl(`${nodeUrl}/auth/login`)).toBe(false);
  });
});
