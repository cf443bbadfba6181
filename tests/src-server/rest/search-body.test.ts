import { describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';

/**
 * POST [type]/_search with a form or a JSON body (Lifen's v3 sends JSON): the body's fields are filters like the
 * URL's, and a field the node does not know is refused, never ignored (ignoring it would answer every patient).
 */

type Json = Record<string, any>;
const node = useTestNode();

async function patient(family: string, given = 'Jean'): Promise<Json> {
  const response = await node().request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family, given: [given] }] } });
  expect(response.status).toBe(201);
  return (await response.json()) as Json;
}

const search = (body: string, contentType = 'application/json', type = 'Patient') =>
  node().request(`${type}/_search`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('POST _search bodies', () => {
  it('filters by the fields of a JSON body, as by a form body', async () => {
    const dupont = await patient('Dupontel');
    await patient('Martineau');
    const json = await search(JSON.stringify({ family: 'dupontel' }));
    expect(json.status).toBe(200);
    const bundle = (await json.json()) as Json;
    expect(bundle.entry.map((entry: Json) => entry.resource.id)).toEqual([dupont.id]);
    const form = (await (await search('family=dupontel', 'application/x-www-form-urlencoded')).json()) as Json;
    expect(form.entry.map((entry: Json) => entry.resource.id)).toEqual([dupont.id]);
  });

  it('takes arrays of strings (repeated parameters) and numbers for controls', async () => {
    const a = await patient('Arrayone', 'Zoe');
    await patient('Arrayone', 'Paul');
    const response = await search(JSON.stringify({ family: ['arrayone'], given: ['zoe'], _count: 5 }));
    expect(response.status).toBe(200);
    const bundle = (await response.json()) as Json;
    expect(bundle.entry.map((entry: Json) => entry.resource.id)).toEqual([a.id]);
    expect(bundle.link[0].url).toContain('_count=5');
  });

  it('refuses an unknown field of a JSON body, naming it', async () => {
    const response = await search(JSON.stringify({ famly: 'dupontel' }));
    expect(response.status).toBe(400);
    const outcome = (await response.json()) as Json;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(outcome.issue)).toContain('famly');
  });

  it('refuses an unknown field even when the client asks for lenient handling', async () => {
    const response = await node().request('Patient/_search', {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'handling=lenient' },
      body: JSON.stringify({ famly: 'dupontel' }),
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('famly');
  });

  it('refuses values that are neither strings, numbers nor arrays of them, and bodies that are not objects', async () => {
    for (const body of [{ family: { value: 'x' } }, { family: [['x']] }, { family: null }, ['family', 'x'], 'family=x']) {
      const response = await search(JSON.stringify(body));
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as Json).resourceType).toBe('OperationOutcome');
    }
  });

  it('matches a JSON body through the text index too (name is word-prefix)', async () => {
    const p = await patient('Textbodyname');
    let bundle: Json = {};
    for (let attempt = 0; attempt < 50; attempt++) {
      bundle = (await (await search(JSON.stringify({ name: 'textbody' }))).json()) as Json;
      if (bundle.entry?.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(bundle.entry.map((entry: Json) => entry.resource.id)).toEqual([p.id]);
  });
});
