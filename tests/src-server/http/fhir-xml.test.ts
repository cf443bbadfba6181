import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readFhirXml, writeFhirXml } from '../../../src-server/http/fhir-xml';
import { MAX_JSON_BODY_BYTES } from '../../../src-server/fhir/limits';
import { SHARED_FHIR } from '../../helpers/fhir-data';
import { useTestNode } from '../../helpers/node';

/**
 * FHIR XML, read and written at the HTTP edge: an XML body is converted to JSON and validated like JSON, answers are
 * written in XML when `_format` or `Accept` asks for it, and XML's own attacks (entities, DTDs) are refused.
 */

type Json = Record<string, any>;

const node = useTestNode();
/** The JSON a FHIR XML text says, as the tests read it. */
const fromXml = (xml: string) => readFhirXml(xml) as Json;
const examples = readFileSync(`${SHARED_FHIR}/examples-all.ndjson`, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Json);

const patientXml = (family: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Patient xmlns="http://hl7.org/fhir">\n  <!-- a comment -->\n  <active value="true"/>\n  <name><family value="${family}"/><given value="Jean"/><given value="Marc"/></name>${extra}\n  <birthDate value="1970-02-03"/>\n</Patient>`;

const postXml = (body: string | Uint8Array, path = 'Patient', headers: Record<string, string> = {}) =>
  node().request(path, { method: 'POST', body, headers: { 'content-type': 'application/fhir+xml', accept: 'application/fhir+xml', ...headers } });

async function versionCount(): Promise<number> {
  return (node().db.prepare('SELECT count(*) AS n FROM resource_versions').get() as { n: number }).n;
}

/** An XML OperationOutcome with the status, its diagnostics matching `pattern`. */
async function expectXmlOutcome(response: Response, status: number, pattern: RegExp): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+xml/);
  const outcome = fromXml(await response.text());
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect((outcome.issue as Json[]).map((issue) => issue.diagnostics).join(' ')).toMatch(pattern);
}

/**
 * Equal, but for a narrative's optional escapes: XHTML text may write `"`, `'` and `>` as `&quot;`, `&apos;` and `&gt;`
 * or not (XML 1.0 §2.4), and FHIR.js writes its text without them. Whitespace and comments must be the same.
 */
function sameExceptNarrativeEscapes(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'string' && typeof expected === 'string' && expected.startsWith('<div')) {
    const unescaped = (xhtml: string) => xhtml.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&gt;/g, '>');
    return unescaped(actual) === unescaped(expected);
  }
  if (typeof actual !== 'object' || typeof expected !== 'object' || actual === null || expected === null) return actual === expected;
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  return [...keys].every((key) => sameExceptNarrativeEscapes((actual as Json)[key], (expected as Json)[key]));
}

describe('the official STU3 examples through XML', () => {
  it('all 666 round-trip JSON → XML → JSON unchanged (but for optional escapes in narratives)', () => {
    expect(examples).toHaveLength(666);
    const changed: string[] = [];
    for (const example of examples) {
      const back = readFhirXml(writeFhirXml(example));
      if (!sameExceptNarrativeEscapes(back, example)) changed.push(`${example.resourceType}/${example.id}`);
    }
    expect(changed, JSON.stringify(changed)).toEqual([]);
  });

  it('a sample POSTed as XML gets the answer its JSON gets, is stored as that JSON, and reads back in XML and JSON', async () => {
    const types = ['Patient', 'Practitioner', 'Organization', 'Observation', 'Encounter', 'Condition', 'AllergyIntolerance', 'Immunization', 'Location', 'Medication'];
    let stored = 0;
    for (const type of types) {
      for (const example of examples.filter((candidate) => candidate.resourceType === type).slice(0, 3)) {
        const { id: _id, meta: _meta, ...resource } = example;
        const asXml = await postXml(writeFhirXml(resource), type);
        if (asXml.status === 201) {
          stored++;
          const created = fromXml(await asXml.text());
          const readJson = (await (await node().request(`${type}/${created.id}`)).json()) as Json;
          expect(sameExceptNarrativeEscapes(withoutMeta(readJson), { ...resource, id: created.id }), `${type}/${example.id}`).toBe(true);
          const readXml = await node().request(`${type}/${created.id}`, { headers: { accept: 'application/fhir+xml' } });
          expect(readXml.headers.get('content-type')).toMatch(/^application\/fhir\+xml/);
          expect(fromXml(await readXml.text())).toEqual(readJson);
          // Gone again where it can be, so that the same resource in JSON meets the same node.
          await node().request(`${type}/${created.id}`, { method: 'DELETE' });
        }
        const asJson = await node().request(type, { method: 'POST', json: resource });
        expect(asXml.status, `${type}/${example.id}`).toBe(asJson.status);
        if (asJson.status === 201) await node().request(`${type}/${((await asJson.json()) as Json).id}`, { method: 'DELETE' });
      }
    }
    expect(stored).toBeGreaterThanOrEqual(10);
  });
});

function withoutMeta(resource: Json): Json {
  const { meta: _meta, ...rest } = resource;
  return rest;
}

describe('reading FHIR XML', () => {
  it('creates from application/fhir+xml, application/xml and text/xml bodies, as JSON would', async () => {
    for (const type of ['application/fhir+xml', 'application/xml', 'text/xml; charset=utf-8']) {
      const response = await postXml(patientXml('Martin'), 'Patient', { 'content-type': type, accept: 'application/fhir+json' });
      expect(response.status).toBe(201);
      const body = (await response.json()) as Json;
      expect(body).toMatchObject({ resourceType: 'Patient', active: true, name: [{ family: 'Martin', given: ['Jean', 'Marc'] }], birthDate: '1970-02-03' });
    }
  });

  it('reads comments as nothing, wherever they are, and keeps those of a narrative', async () => {
    const xml =
      '<!-- before --><Patient xmlns="http://hl7.org/fhir"><!--a--><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><!-- kept --><p>Jean</p></div></text>' +
      '<name><!--b--><family value="Comment"/><!--c--><given value="Jean"/><!--d--><given value="Luc"/></name><!--e--><birthDate value="1970-02-03"/><!-- after --></Patient><!-- end -->';
    const response = await postXml(xml, 'Patient', { accept: 'application/fhir+json' });
    expect(response.status, await response.clone().text()).toBe(201);
    const { id: _id, meta: _meta, ...body } = (await response.json()) as Json;
    expect(body).toEqual({
      resourceType: 'Patient',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><!-- kept --><p>Jean</p></div>' },
      name: [{ family: 'Comment', given: ['Jean', 'Luc'] }],
      birthDate: '1970-02-03',
    });
  });

  it('validates the JSON it reads exactly as a JSON body: a bad date or code is refused the same way', async () => {
    const before = await versionCount();
    const badDate = await postXml(patientXml('Martin').replace('1970-02-03', '1970-13-45'));
    await expectXmlOutcome(badDate, 400, /1970-13-45/);
    const badCode = await postXml(patientXml('Martin', '<gender value="martian"/>').replace('<gender value="martian"/>', '').replace('<active value="true"/>', '<active value="true"/><gender value="martian"/>'));
    expect(badCode.status).toBeGreaterThanOrEqual(400);
    expect(await versionCount()).toBe(before);
  });

  it('refuses malformed XML, a wrong root, unknown or misplaced elements, with an XML OperationOutcome', async () => {
    const before = await versionCount();
    await expectXmlOutcome(await postXml('<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>'), 400, /not well-formed XML/);
    await expectXmlOutcome(await postXml('<Patient xmlns="http://hl7.org/fhir"><active value="true"/>'), 400, /not well-formed XML/);
    await expectXmlOutcome(await postXml('<Patient xmlns="http://hl7.org/fhir"/><Patient xmlns="http://hl7.org/fhir"/>'), 400, /one FHIR resource/);
    await expectXmlOutcome(await postXml('<Patient><active value="true"/></Patient>'), 400, /namespace http:\/\/hl7.org\/fhir/);
    await expectXmlOutcome(await postXml('<html xmlns="http://hl7.org/fhir"/>'), 400, /Unknown resource type/);
    await expectXmlOutcome(await postXml(patientXml('Martin', '<favouriteColour value="blue"/>')), 400, /Patient.favouriteColour/);
    // FHIR XML's elements come in the specified order: birthDate before name is not read as if it were right.
    await expectXmlOutcome(await postXml('<Patient xmlns="http://hl7.org/fhir"><birthDate value="1970-02-03"/><active value="true"/></Patient>'), 400, /order/);
    // FHIR.js would misalign a repeated primitive whose middle item has only an extension: refused, never misread.
    const extensionOnly = '<given><extension url="http://example.org/x"><valueString value="y"/></extension></given>';
    await expectXmlOutcome(await postXml(`<Patient xmlns="http://hl7.org/fhir"><name><given value="A"/>${extensionOnly}<given value="B"/></name></Patient>`), 400, /Patient.name.given/);
    await expectXmlOutcome(await postXml('<?xml-stylesheet href="x.xsl"?><Patient xmlns="http://hl7.org/fhir"/>'), 400, /processing instructions/);
    await expectXmlOutcome(await postXml('<?xml version="1.0" encoding="ISO-8859-1"?><Patient xmlns="http://hl7.org/fhir"/>'), 415, /UTF-8/);
    await expectXmlOutcome(await postXml(patientXml('Martin'), 'Patient', { 'content-type': 'application/fhir+xml; charset=iso-8859-1' }), 415, /UTF-8/);
    expect(await versionCount()).toBe(before);
  });

  it('refuses entity expansion ("billion laughs") and external entities (XXE) without resolving them', async () => {
    const before = await versionCount();
    const laughs = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE Patient [',
      '  <!ENTITY lol "lol">',
      ...Array.from({ length: 9 }, (_, level) => `  <!ENTITY lol${level + 1} "${`&lol${level === 0 ? '' : level};`.repeat(10)}">`),
      ']>',
      '<Patient xmlns="http://hl7.org/fhir"><name><family value="&lol9;"/></name></Patient>',
    ].join('\n');
    const started = Date.now();
    await expectXmlOutcome(await postXml(laughs), 400, /DOCTYPE/);
    expect(Date.now() - started).toBeLessThan(5000);
    const external = '<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY secret SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><name><family value="&secret;"/></name></Patient>';
    const response = await postXml(external);
    const text = await response.text();
    expect(text).not.toContain('root:');
    expect(response.status).toBe(400);
    // Without a DOCTYPE, an undeclared entity is not XML at all.
    await expectXmlOutcome(await postXml('<Patient xmlns="http://hl7.org/fhir"><name><family value="&secret;"/></name></Patient>'), 400, /not well-formed/);
    expect(await versionCount()).toBe(before);
  });

  it('leaves a Binary upload alone: an XML document in ISO-8859-1 is stored as it is, not read as FHIR', async () => {
    const document = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><ClinicalDocument xmlns="urn:hl7-org:v3"><title>Lettre \xe9</title></ClinicalDocument>', 'latin1');
    const created = await node().request('Binary', { method: 'POST', body: document, headers: { 'content-type': 'text/xml; charset=iso-8859-1' } });
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as Json;
    const raw = await node().request(`Binary/${id as string}`, { headers: { accept: '*/*' } });
    expect(Buffer.from(await raw.arrayBuffer()).equals(document)).toBe(true);
  });

  it('refuses a body over the 32 MiB limit with 413, counted on the inflated bytes of a gzipped one', async () => {
    const padding = `<given value="${'x'.repeat(1000)}"/>`.repeat(Math.ceil(MAX_JSON_BODY_BYTES / 1000) + 10);
    const huge = `<Patient xmlns="http://hl7.org/fhir"><name>${padding}</name></Patient>`;
    await expectXmlOutcome(await postXml(gzipSync(huge), 'Patient', { 'content-encoding': 'gzip' }), 413, /MiB/);
    const plain = await postXml(huge);
    expect(plain.status).toBe(413);
  });
});

describe('answering in FHIR XML', () => {
  it('serves a read in XML for _format=xml, _format=application/fhir+xml and an XML Accept, JSON otherwise', async () => {
    const created = (await (await node().request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Durand' }] } })).json()) as Json;
    const asked: Array<[string, Record<string, string>]> = [
      [`Patient/${created.id}?_format=xml`, {}],
      [`Patient/${created.id}?_format=${encodeURIComponent('application/fhir+xml')}`, {}],
      [`Patient/${created.id}`, { accept: 'application/fhir+xml' }],
      [`Patient/${created.id}`, { accept: 'application/xml' }],
      [`Patient/${created.id}`, { accept: 'text/xml' }],
      [`Patient/${created.id}`, { accept: 'application/fhir+json;q=0.5, application/fhir+xml' }],
    ];
    for (const [path, headers] of asked) {
      const response = await node().request(path, { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+xml/);
      const text = await response.text();
      expect(text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Patient xmlns="http:\/\/hl7.org\/fhir">/);
      expect(readFhirXml(text)).toEqual(created);
    }
    const jsonAccepts: Array<Record<string, string>> = [{ accept: 'application/fhir+xml;q=0.5, application/fhir+json' }, { accept: '*/*' }, {}];
    for (const headers of jsonAccepts) {
      const response = await node().request(`Patient/${created.id}`, { headers });
      expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    }
    expect((await node().request(`Patient/${created.id}?_format=json`, { headers: { accept: 'application/fhir+xml' } })).headers.get('content-type')).toMatch(/json/);
  });

  it('writes Bundles in XML: a search, a history, a transaction response', async () => {
    await postXml(patientXml('Bundleau'));
    const search = await node().request('Patient?family=Bundleau', { headers: { accept: 'application/fhir+xml' } });
    const searchset = fromXml(await search.text());
    expect(searchset).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(searchset.entry).toHaveLength(1);
    expect(searchset.entry[0].resource.name[0].family).toBe('Bundleau');
    const history = fromXml(await (await node().request('Patient/_history', { headers: { accept: 'application/fhir+xml' } })).text());
    expect(history).toMatchObject({ resourceType: 'Bundle', type: 'history' });
    const transaction = writeFhirXml({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ fullUrl: 'urn:uuid:0b6cc7b2-7f2e-4c4b-9d4e-1b1c0b0e0a01', resource: { resourceType: 'Patient', name: [{ family: 'Transac' }] }, request: { method: 'POST', url: 'Patient' } }],
    });
    const answered = await postXml(transaction, '');
    expect(answered.status).toBe(200);
    const response = fromXml(await answered.text());
    expect(response).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
    expect(response.entry[0].response.status).toMatch(/^201/);
  });

  it('answers refusals in XML when XML was asked for: not found, unauthenticated', async () => {
    await expectXmlOutcome(await node().request('Patient/nobody-here', { headers: { accept: 'application/fhir+xml' } }), 404, /Patient\/nobody-here/);
    const anonymous = await fetch(`${node().fhir}/Patient`, { headers: { accept: 'application/fhir+xml' } });
    await expectXmlOutcome(anonymous, 401, /./);
  });
});
