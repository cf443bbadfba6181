import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { clientToken, userToken } from '../../helpers/users';
import { documentAbout } from './fixtures';

/**
 * Who may point a DocumentReference at a Binary (docs/access.md): the access rules show a Binary to whoever sees a
 * DocumentReference whose content it is, so a writer may only name a Binary it can already read, or its own fresh
 * upload that nothing names yet; likewise a message may only carry a DocumentReference its writer sees, however the
 * reference is written. Two practices on a real node: Dr Alpha (practice A) and Dr Bernard (practice B), logged in,
 * and Dr Bernard's EHR (an API client acting for him).
 */

type Json = Record<string, any>;

const node = useTestNode();

const PRACTICE_A = 'cabinet-lilas';
const PRACTICE_B = 'msp-port';
const LETTER_A = Buffer.from('%PDF-1.4 compte rendu confidentiel du cabinet A\n%%EOF\n');
const LETTER_B = Buffer.from('%PDF-1.4 courrier du Dr Bernard\n%%EOF\n');
/** What the EHR needs to post documents the Lifen way, one request at a time or in a transaction. */
const EHR_SCOPES = ['BINARY_CREATE', 'BINARY_READ', 'BINARY_UPDATE', 'DOCUMENTREFERENCE_CREATE', 'DOCUMENTREFERENCE_READ', 'DOCUMENTREFERENCE_UPDATE'];

const tokens: Record<'alpha' | 'bernard' | 'bernardEhr', string> = { alpha: '', bernard: '', bernardEhr: '' };
type Caller = keyof typeof tokens | 'owner';

function as(who: Caller, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  return who === 'owner' ? node().request(path, init) : fhirFetch(node().fhir, tokens[who], path, init);
}

function transaction(who: Caller, entry: Json[]): Promise<Response> {
  return as(who, '', { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry } });
}

async function body(response: Response): Promise<Json> {
  return (await response.json()) as Json;
}

/** POST Binary with a document's own bytes, as the Lifen sequence begins; its id. */
async function upload(who: Caller, content: Buffer): Promise<string> {
  const posted = await as(who, 'Binary', { method: 'POST', body: content, headers: { 'content-type': 'application/pdf' } });
  expect(posted.status, await posted.clone().text()).toBe(201);
  return (await body(posted)).id as string;
}

/** The Binary's bytes and version as `who` reads it (status only when refused). */
async function readBinary(who: Caller, id: string): Promise<{ status: number; bytes?: Buffer; etag?: string | null }> {
  const read = await as(who, `Binary/${id}`, { headers: { accept: 'application/pdf' } });
  if (read.status !== 200) return { status: read.status };
  return { status: 200, bytes: Buffer.from(await read.arrayBuffer()), etag: read.headers.get('etag') };
}

/** A read through another of the node's names (`Host`), as a client configured with `http://localhost:<port>` does. */
function readThroughHost(who: Exclude<Caller, 'owner'>, path: string, host: string): Promise<number> {
  const { port } = new URL(node().url);
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: `/fhir/${path}`, headers: { host, authorization: `Bearer ${tokens[who]}`, accept: 'application/fhir+json' } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    })
      .on('error', reject)
      .end();
  });
}

/** How many DocumentReferences are about the patient, for the owner: a refused write must leave none behind. */
async function documentsAbout(patient: string): Promise<number> {
  return (await body(await as('owner', `DocumentReference?subject=Patient/${patient}&_summary=count`))).total as number;
}

/** Dr Alpha's letter about her patient, posted the Lifen way: the Binary whose id Dr Bernard comes to know. */
let alphaBinary: string;
/** And the DocumentReference that names it. */
let alphaDocument: string;

beforeAll(async () => {
  const { repository, db } = node();
  repository.update('Practitioner', 'alpha', { resourceType: 'Practitioner', id: 'alpha', name: [{ family: 'Alpha' }] });
  repository.update('Practitioner', 'bernard', { resourceType: 'Practitioner', id: 'bernard', name: [{ family: 'Bernard' }] });
  repository.update('Organization', PRACTICE_A, { resourceType: 'Organization', id: PRACTICE_A, name: 'Cabinet des Lilas' });
  repository.update('Organization', PRACTICE_B, { resourceType: 'Organization', id: PRACTICE_B, name: 'Maison de santé du Port' });
  tokens.alpha = userToken(db, { userId: 'u-alpha', roles: 'practitioner', practitionerId: 'alpha', organizations: PRACTICE_A });
  tokens.bernard = userToken(db, { userId: 'u-bernard', roles: 'practitioner', practitionerId: 'bernard', organizations: PRACTICE_B });
  tokens.bernardEhr = await clientToken(node(), { scopes: EHR_SCOPES, practitionerId: 'bernard' });
  for (const [id, gp] of [['pa', 'alpha'], ['pb', 'bernard']]) {
    const patient = await as('owner', `Patient/${id}`, { method: 'PUT', json: { resourceType: 'Patient', id, name: [{ family: `Patient ${id}` }], generalPractitioner: [{ reference: `Practitioner/${gp}` }] } });
    expect(patient.status).toBe(201);
  }
  alphaBinary = await upload('alpha', LETTER_A);
  const named = await as('alpha', 'DocumentReference', { method: 'POST', json: documentAbout('pa', 'alpha', `Binary/${alphaBinary}`) });
  expect(named.status, await named.clone().text()).toBe(201);
  alphaDocument = (await body(named)).id as string;
});

describe("another practice's Binary, whose id leaked", () => {
  /** Dr Bernard cannot read or replace Dr Alpha's letter, and it stays as she wrote it. */
  async function expectOutOfBernardsReach(original: { bytes?: Buffer; etag?: string | null }) {
    const read = await as('bernard', `Binary/${alphaBinary}`, { headers: { accept: 'application/fhir+json' } });
    expect(read.status).toBe(404);
    expect((await body(read)).issue[0].diagnostics).toBe(`Binary/${alphaBinary} does not exist`);
    const replaced = await as('bernard', `Binary/${alphaBinary}`, { method: 'PUT', body: LETTER_B, headers: { 'content-type': 'application/pdf' } });
    expect(replaced.status).toBe(403);
    const now = await readBinary('alpha', alphaBinary);
    expect(now.status).toBe(200);
    expect(now.etag).toBe(original.etag);
    expect(Buffer.compare(now.bytes!, LETTER_A)).toBe(0);
  }

  it('cannot be opened by naming it in a DocumentReference about one of your own patients', async () => {
    const original = await readBinary('alpha', alphaBinary);
    await expectOutOfBernardsReach(original);
    const before = await documentsAbout('pb');
    const { port } = new URL(node().url);
    // Relative, absolute on the base he calls, and absolute on another name of the node a reader may call it by.
    for (const url of [`Binary/${alphaBinary}`, `${node().fhir}/Binary/${alphaBinary}`, `http://localhost:${port}/fhir/Binary/${alphaBinary}`]) {
      for (const who of ['bernard', 'bernardEhr'] as const) {
        const crafted = await as(who, 'DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', url) });
        expect(crafted.status, `${who} names ${url}`).toBe(422);
        const outcome = await body(crafted);
        expect(outcome.resourceType).toBe('OperationOutcome');
        expect(outcome.issue[0].diagnostics).toBe(`Binary/${alphaBinary} does not exist`);
        expect(outcome.issue[0].expression).toEqual(['DocumentReference.content.attachment.url']);
      }
      expect(await readThroughHost('bernard', `Binary/${alphaBinary}`, `localhost:${port}`)).toBe(404);
    }
    expect(await documentsAbout('pb')).toBe(before);
    await expectOutOfBernardsReach(original);
  });

  it('cannot be added to an existing DocumentReference, nor slipped into a transaction', async () => {
    const original = await readBinary('alpha', alphaBinary);
    const own = await upload('bernard', LETTER_B);
    const posted = await as('bernard', 'DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', `Binary/${own}`) });
    expect(posted.status).toBe(201);
    const document = await body(posted);
    const extended = { ...document, content: [...document.content, { attachment: { contentType: 'application/pdf', url: `Binary/${alphaBinary}` } }] };
    const updated = await as('bernard', `DocumentReference/${document.id}`, { method: 'PUT', json: extended });
    expect(updated.status).toBe(422);
    expect((await body(updated)).issue[0].diagnostics).toBe(`Binary/${alphaBinary} does not exist`);
    const before = await documentsAbout('pb');
    const bundle = await transaction('bernard', [{ resource: documentAbout('pb', 'bernard', `Binary/${alphaBinary}`), request: { method: 'POST', url: 'DocumentReference' } }]);
    expect(bundle.status).toBe(422);
    expect((await body(bundle)).issue[0].diagnostics).toBe(`Bundle.entry[0]: Binary/${alphaBinary} does not exist`);
    expect(await documentsAbout('pb')).toBe(before);
    expect((await body(await as('bernard', `DocumentReference/${document.id}`))).meta.versionId).toBe(document.meta.versionId);
    await expectOutOfBernardsReach(original);
  });

  it('nor can a Binary that is not there (yet)', async () => {
    const crafted = await as('bernard', 'DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', 'Binary/not-uploaded-yet') });
    expect(crafted.status).toBe(422);
    expect((await body(crafted)).issue[0].diagnostics).toBe('Binary/not-uploaded-yet does not exist');
  });
});

describe("another practice's document filed before its content", () => {
  it('cannot be given content by someone else: a Binary PUT under an id a document already names is refused', async () => {
    // The owner files Dr Alpha's letter before its content arrives (a scanner's DocumentReference, content to follow).
    const filed = await as('owner', 'DocumentReference', { method: 'POST', json: documentAbout('pa', 'alpha', 'Binary/filed-later') });
    expect(filed.status).toBe(201);
    for (const who of ['bernard', 'bernardEhr'] as const) {
      const planted = await as(who, 'Binary/filed-later', { method: 'PUT', body: LETTER_B, headers: { 'content-type': 'application/pdf' } });
      expect(planted.status, who).toBe(403);
    }
    expect((await readBinary('alpha', 'filed-later')).status).toBe(404);
    // Its practice still can.
    const content = await as('alpha', 'Binary/filed-later', { method: 'PUT', body: LETTER_A, headers: { 'content-type': 'application/pdf' } });
    expect(content.status, await content.clone().text()).toBe(201);
    expect(Buffer.compare((await readBinary('alpha', 'filed-later')).bytes!, LETTER_A)).toBe(0);
  });
});

describe("a message carrying that practice's DocumentReference", () => {
  it('is refused however the reference is written, as the access rules would read it', async () => {
    const { port } = new URL(node().url);
    const bernard = { reference: 'Practitioner/bernard' };
    const forms = [`DocumentReference/${alphaDocument}`, `DocumentReference/${alphaDocument}/_history/1`, ` DocumentReference/${alphaDocument}`, `http://localhost:${port}/fhir/DocumentReference/${alphaDocument}`];
    for (const reference of forms) {
      const message = await as('bernard', 'Communication', { method: 'POST', json: { resourceType: 'Communication', status: 'in-progress', sender: bernard, recipient: [bernard], payload: [{ contentReference: { reference } }] } });
      expect(message.status, JSON.stringify(reference)).toBe(422);
      const outcome = await body(message);
      expect(outcome.issue[0].diagnostics).toBe(`DocumentReference/${alphaDocument} does not exist`);
      expect(outcome.issue[0].expression).toEqual(['Communication.payload']);
    }
    for (const path of [`DocumentReference/${alphaDocument}`, `Binary/${alphaBinary}`]) {
      expect((await as('bernard', path)).status).toBe(404);
      expect(await readThroughHost('bernard', path, `localhost:${port}`)).toBe(404);
    }
  });
});

describe('the Lifen sequence', () => {
  it('POST Binary, then a DocumentReference naming it: the writer reads its document from then on', async () => {
    const id = await upload('bernard', LETTER_B);
    // Nothing names it yet: not even its writer sees it.
    expect((await readBinary('bernard', id)).status).toBe(404);
    const named = await as('bernard', 'DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', `${node().fhir}/Binary/${id}`) });
    expect(named.status, await named.clone().text()).toBe(201);
    const read = await readBinary('bernard', id);
    expect(read.status).toBe(200);
    expect(Buffer.compare(read.bytes!, LETTER_B)).toBe(0);
    // A second document may name it (its writer reads it), and an update may keep it.
    const second = await as('bernard', 'DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', `Binary/${id}`) });
    expect(second.status).toBe(201);
    const document = await body(named);
    const kept = await as('bernard', `DocumentReference/${document.id}`, { method: 'PUT', json: { ...document, description: 'Courrier relu' } });
    expect(kept.status).toBe(200);
  });

  it("another caller's fresh upload cannot be claimed, not even by a caller acting for the same practitioner", async () => {
    const fresh = await upload('alpha', LETTER_A);
    for (const who of ['bernard', 'bernardEhr'] as const) {
      const claimed = await as(who, 'DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', `Binary/${fresh}`) });
      expect(claimed.status, who).toBe(422);
      expect((await body(claimed)).issue[0].diagnostics).toBe(`Binary/${fresh} does not exist`);
    }
    const ehrUpload = await upload('bernardEhr', LETTER_B);
    const fromUi = await as('bernard', 'DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', `Binary/${ehrUpload}`) });
    expect(fromUi.status).toBe(422);
    // Its uploader still can.
    const mine = await as('alpha', 'DocumentReference', { method: 'POST', json: documentAbout('pa', 'alpha', `Binary/${fresh}`) });
    expect(mine.status).toBe(201);
    expect((await readBinary('alpha', fresh)).status).toBe(200);
    expect((await readBinary('bernard', fresh)).status).toBe(404);
  });

  it('an upload something already names is no longer fresh: its uploader names it only if it reads it', async () => {
    const id = await upload('bernardEhr', LETTER_B);
    // The owner files it under Dr Alpha's patient, out of the EHR's sight.
    const filed = await as('owner', 'DocumentReference', { method: 'POST', json: documentAbout('pa', 'alpha', `Binary/${id}`) });
    expect(filed.status).toBe(201);
    const claimed = await as('bernardEhr', 'DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', `Binary/${id}`) });
    expect(claimed.status).toBe(422);
    expect((await readBinary('bernardEhr', id)).status).toBe(404);
  });

  it('a transaction may upload the Binary and name it in one go, whatever the order of its entries', async () => {
    const binaryUrl = 'urn:uuid:6f1c2d3e-0000-4000-8000-000000000001';
    const bundle = await transaction('bernardEhr', [
      { resource: documentAbout('pb', 'bernard', binaryUrl), request: { method: 'POST', url: 'DocumentReference' } },
      { fullUrl: binaryUrl, resource: { resourceType: 'Binary', contentType: 'application/pdf', content: LETTER_B.toString('base64') }, request: { method: 'POST', url: 'Binary' } },
    ]);
    expect(bundle.status, await bundle.clone().text()).toBe(200);
    const id = /^Binary\/([^/]+)\//.exec((await body(bundle)).entry[1].response.location.replace(`${node().fhir}/`, ''))![1];
    const read = await readBinary('bernardEhr', id);
    expect(read.status).toBe(200);
    expect(Buffer.compare(read.bytes!, LETTER_B)).toBe(0);
    // A Binary the transaction creates with an id of its own, by PUT, after the POST of what names it.
    const byPut = await transaction('bernardEhr', [
      { resource: documentAbout('pb', 'bernard', 'Binary/ehr-letter-7'), request: { method: 'POST', url: 'DocumentReference' } },
      { resource: { resourceType: 'Binary', id: 'ehr-letter-7', contentType: 'application/pdf', content: LETTER_B.toString('base64') }, request: { method: 'PUT', url: 'Binary/ehr-letter-7' } },
    ]);
    expect(byPut.status, await byPut.clone().text()).toBe(200);
    expect((await readBinary('bernardEhr', 'ehr-letter-7')).status).toBe(200);
  });

  it('leaves the owner client, which has no reach, free to name any Binary', async () => {
    const named = await as('owner', 'DocumentReference', { method: 'POST', json: documentAbout('pa', 'alpha', `Binary/${alphaBinary}`) });
    expect(named.status).toBe(201);
    const dangling = await as('owner', 'DocumentReference', { method: 'POST', json: documentAbout('pa', 'alpha', 'Binary/filed-later') });
    expect(dangling.status).toBe(201);
  });
});
