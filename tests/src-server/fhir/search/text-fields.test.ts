import { describe, expect, it } from 'vitest';
import { MAX_FIELD_CHARS, MAX_WORD_CHARS, queryTerms, textDocument } from '../../../../src-server/fhir/search/text-fields';

/** What the text index takes of a resource is bounded, whatever the resource holds (issue 17). */

describe('textDocument bounds', () => {
  it('cuts a long word to its first MAX_WORD_CHARS letters, and a query term the same way', () => {
    const word = 'Anticonstitutionnellement'.repeat(40_000); // a million letters
    const document = textDocument({ resourceType: 'Patient', name: [{ family: 'Durand' }], address: [{ city: word, line: ['3 rue Longue'] }] });
    expect(document.address).toBe(`3 rue longue ${word.slice(0, MAX_WORD_CHARS).toLowerCase()}`);
    expect(queryTerms(`durand ${word}`)).toEqual(['durand', word.slice(0, MAX_WORD_CHARS).toLowerCase()]);
  });

  it('keeps a real name or address whole', () => {
    const document = textDocument({
      resourceType: 'Organization',
      name: 'Centre hospitalier intercommunal de Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson',
      address: [{ line: ['Établissement pour l’hébergement des personnes âgées dépendantes'], city: 'Wolfeschlegelsteinhausenbergerdorff', postalCode: '51290' }],
    });
    expect(document.name).toBe('centre hospitalier intercommunal de saint remy en bouzemont genest et isson');
    expect(document.address).toContain('wolfeschlegelsteinhausenbergerdorff 51290');
  });

  it('takes at most MAX_FIELD_CHARS of distinct words per field, however many the resource holds', () => {
    const words = Array.from({ length: 100_000 }, (_, at) => `mot${at}`);
    const document = textDocument({ resourceType: 'Patient', name: [{ family: 'Durand', given: words }] });
    expect(document.name!.length).toBeLessThanOrEqual(MAX_FIELD_CHARS);
    expect(document.name!.startsWith('mot0 mot1 mot2')).toBe(true);
    // Repeated words are counted once.
    const repeated = textDocument({ resourceType: 'Patient', name: [{ family: 'Durand', given: Array(100_000).fill('Jean') }] });
    expect(repeated.name).toBe('jean durand');
  });

  it('does not cut a character outside the BMP in two', () => {
    const word = `${'a'.repeat(MAX_WORD_CHARS - 1)}𝒳𝒳𝒳`;
    const [term] = queryTerms(word);
    expect(term).toBe('a'.repeat(MAX_WORD_CHARS - 1));
    expect(textDocument({ resourceType: 'Patient', name: [{ family: word }] }).name).toBe(term);
  });
});
