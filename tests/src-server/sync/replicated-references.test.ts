import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, type TestNode } from '../../helpers/node';
import { connect, eventually, peerClient, startSyncNodes, tokenFor, versionsOf, winnersOf } from '../../helpers/sync-nodes';
import { userToken } from '../../helpers/users';
import { documentAbout } from '../documents/fixtures';

/**
 * A peer whose client has a reach is held on `$replicate` to the rule the API holds its writers to (docs/access.md,
 * "Binaries: who sees them, and who may name them"): a DocumentReference it pushes may newly name only a Binary it
 * can already read, or one it pushed itself that nothing names yet, and a message only DocumentReferences it sees.
 * Otherwise practice B's office could push a document about its own patient naming practice A's Binary, or a message
 * carrying A's DocumentReference, and read them through it. A hub with two practices: Dr Alpha (A, logged in) and
 * Dr Bernard (B), whose office syncs as an API client acting for him.
 */

type Json = Record<string, any>;

let hub: TestNode;
let office: TestNode;
let alphaToken: string;
/** Dr Bernard's office on the hub, and another of his peers (a second desktop's client). */
let bernardPeer: { clientId: string; clientSecret: string };
let bernardToken: string;
let otherDesktopToken: string;
/** Dr Alpha's letter about her patient, posted through the API: the Binary whose id Dr Bernard comes to know. */
let alphaBinary: string;
/** And the DocumentReference that names it. */
let alphaDocument: string;

const LETTER_A = Buffer.from('%PDF-1.4 compte rendu confidentiel du cabinet A\n%%EOF\n');
const LETTER_B = Buffer.from('%PDF-1.4 courrier du Dr Bernard\n%%EOF\n');
const SCOPES = ['SYNC', 'PATIENT_READ', ...['BINARY', 'DOCUMENTREFERENCE', 'COMMUNICATION', 'COMMUNICATIONREQUEST'].flatMap((type) => ['READ', 'CREATE', 'UPDATE'].map((action) => `${type}_${action}`))];

beforeAll(async () => {
  [hub, office] = await startSyncNodes(2);
  const { repository, db } = hub;
  for (const id of ['alpha', 'bernard']) repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id }] });
  for (const [id, gp] of [['pa', 'alpha'], ['pb', 'bernard']]) repository.update('Patient', id, { resourceType: 'Patient', id, generalPractitioner: [{ reference: `Practitioner/${gp}` }] });
  alphaToken = userToken(db, { userId: 'u-alpha', roles: 'practitioner', practitionerId: 'alpha', organizations: 'cabinet-lilas' });
  const uploaded = await fhirFetch(hub.fhir, alphaToken, 'Binary', { method: 'POST', body: LETTER_A, headers: { 'content-type': 'application/pdf' } });
  expect(uploaded.status).toBe(201);
  alphaBinary = ((await uploaded.json()) as Json).id;
  const named = await fhirFetch(hub.fhir, alphaToken, 'DocumentReference', { method: 'POST', json: documentAbout('pa', 'alpha', `Binary/${alphaBinary}`) });
  expect(named.status, await named.clone().text()).toBe(201);
  alphaDocument = ((await named.json()) as Json).id;
  bernardPeer = await peerClient(hub, { scopes: SCOPES, practitionerId: 'bernard' });
  bernardToken = await tokenFor(hub, bernardPeer);
  otherDesktopToken = await tokenFor(hub, await peerClient(hub, { scopes: SCOPES, practitionerId: 'bernard' }));
});
afterAll(async () => {
  await Promise.all([hub?.stop(), office?.stop()]);
});

let versions = 0;
/** A new version of a resource as a peer sends it: its id, a fresh version id, and the parents given. */
function version(resource: Json, id: string, parents: string[] = []): Json {
  const versionId = `${id}-v${++versions}`;
  return {
    extension: [...parents.map((parent) => ({ url: 'http://liaison.health/fhir/StructureDefinition/sync-parent', valueString: parent })), { url: 'http://liaison.health/fhir/StructureDefinition/sync-origin', valueString: 'bernard-office' }],
    resource: { ...resource, id, meta: { versionId, lastUpdated: new Date().toISOString() } },
  };
}

const versionIdOf = (entry: Json): string => entry.resource.meta.versionId;

function binary(id: string, content = LETTER_B): Json {
  return version({ resourceType: 'Binary', contentType: 'application/pdf', content: content.toString('base64') }, id);
}

function message(type: 'Communication' | 'CommunicationRequest', reference: string): Json {
  const bernard = { reference: 'Practitioner/bernard' };
  return { resourceType: type, status: type === 'Communication' ? 'in-progress' : 'active', sender: bernard, recipient: [bernard], payload: [{ contentReference: { reference } }] };
}

async function replicate(token: string, entries: Json[]): Promise<Json[]> {
  const response = await fhirFetch(hub.fhir, token, '$replicate?sender=bernard-office', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: entries } });
  expect(response.status).toBe(200);
  return ((await response.json()) as Json).entry;
}

const outcomes = (results: Json[]) => results.map((entry) => entry.extension[0].valueCode);

/** Each entry refused as the API refuses the write: 422, the target "does not exist", where it was named. */
function expectRefusedAsMissing(results: Json[], target: string, expression: string): void {
  for (const result of results) {
    expect([result.extension[0].valueCode, result.response.status]).toEqual(['refused', '422']);
    const outcome = result.response.outcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].diagnostics).toBe(`${target} does not exist`);
    expect(outcome.issue[0].expression).toEqual([expression]);
  }
}

/** The Binary's bytes as `token` reads it on the hub (status only when refused). */
async function readBinary(token: string, id: string): Promise<{ status: number; bytes?: Buffer }> {
  const read = await fhirFetch(hub.fhir, token, `Binary/${id}`, { headers: { accept: 'application/pdf' } });
  if (read.status !== 200) return { status: read.status };
  return { status: 200, bytes: Buffer.from(await read.arrayBuffer()) };
}

/** What the peer pulls from the hub: `Type/id` of each version its `$changes` gives. */
async function pulledBy(token: string): Promise<string[]> {
  const page = (await (await fhirFetch(hub.fhir, token, '$changes?_count=2000')).json()) as Json;
  return (page.entry ?? []).map((entry: Json) => `${entry.resource.resourceType}/${entry.resource.id}`);
}

/** Practice A's letter stays out of Dr Bernard's office's reach, by read and by pull, and as Dr Alpha wrote it. */
async function expectAlphasLetterOutOfReach(): Promise<void> {
  expect((await readBinary(bernardToken, alphaBinary)).status).toBe(404);
  expect((await fhirFetch(hub.fhir, bernardToken, `DocumentReference/${alphaDocument}`)).status).toBe(404);
  const pulled = await pulledBy(bernardToken);
  expect(pulled).not.toContain(`Binary/${alphaBinary}`);
  expect(pulled).not.toContain(`DocumentReference/${alphaDocument}`);
  const own = await readBinary(alphaToken, alphaBinary);
  expect(own.status).toBe(200);
  expect(own.bytes).toEqual(LETTER_A);
}

describe("another practice's Binary, whose id leaked to a peer with a reach", () => {
  it('cannot be opened by pushing a DocumentReference about one of its own patients that names it', async () => {
    const { port } = new URL(hub.url);
    // Relative, absolute on the hub's base, and absolute on another name of the hub a reader may call it by.
    const urls = [`Binary/${alphaBinary}`, `${hub.fhir}/Binary/${alphaBinary}`, `http://localhost:${port}/fhir/Binary/${alphaBinary}`];
    const entries = urls.map((url, index) => version(documentAbout('pb', 'bernard', url), `crafted-${index}`));
    const results = await replicate(bernardToken, entries);
    expectRefusedAsMissing(results, `Binary/${alphaBinary}`, 'DocumentReference.content.attachment.url');
    const stored = versionsOf(hub);
    for (const entry of entries) expect(stored.has(versionIdOf(entry))).toBe(false);
    await expectAlphasLetterOutOfReach();
  });

  it('cannot be added to a DocumentReference of its own, by a new version or by a concurrent branch', async () => {
    const own = version(documentAbout('pb', 'bernard', 'Binary/own-letter-1'), 'own-document-1');
    expect(outcomes(await replicate(bernardToken, [binary('own-letter-1'), own]))).toEqual(['created', 'created']);
    const withAlphas = (entry: Json) => ({ ...entry.resource, content: [...entry.resource.content, { attachment: { contentType: 'application/pdf', url: `Binary/${alphaBinary}` } }] });
    const next = version(withAlphas(own), 'own-document-1', [versionIdOf(own)]);
    // A branch off a version that never reached the hub: a concurrent leaf, which could win later.
    const branch = version(withAlphas(own), 'own-document-1', ['never-here-1']);
    const results = await replicate(bernardToken, [next, branch]);
    expectRefusedAsMissing(results, `Binary/${alphaBinary}`, 'DocumentReference.content.attachment.url');
    expect(versionsOf(hub).has(versionIdOf(next))).toBe(false);
    expect(versionsOf(hub).has(versionIdOf(branch))).toBe(false);
    expect(winnersOf(hub).get('DocumentReference/own-document-1')).toBe(versionIdOf(own));
    await expectAlphasLetterOutOfReach();
  });

  it("cannot be reached through a message carrying that practice's DocumentReference, however the reference is written", async () => {
    const { port } = new URL(hub.url);
    const forms = [`DocumentReference/${alphaDocument}`, `DocumentReference/${alphaDocument}/_history/1`, ` DocumentReference/${alphaDocument}`, `http://localhost:${port}/fhir/DocumentReference/${alphaDocument}`];
    for (const type of ['Communication', 'CommunicationRequest'] as const) {
      const entries = forms.map((reference, index) => version(message(type, reference), `carrier-${type}-${index}`));
      const results = await replicate(bernardToken, entries);
      expectRefusedAsMissing(results, `DocumentReference/${alphaDocument}`, `${type}.payload`);
      for (const entry of entries) expect(versionsOf(hub).has(versionIdOf(entry))).toBe(false);
    }
    await expectAlphasLetterOutOfReach();
  });

  it("nor can another peer's fresh push be claimed, nor a Binary that is not there", async () => {
    // Pushed by another client acting for the same practitioner: its own, nothing names it yet.
    expect(outcomes(await replicate(otherDesktopToken, [binary('other-desktop-letter')]))).toEqual(['created']);
    const claim = version(documentAbout('pb', 'bernard', 'Binary/other-desktop-letter'), 'claiming-document');
    const dangling = version(documentAbout('pb', 'bernard', 'Binary/not-pushed-yet'), 'dangling-document');
    const [claimed, missing] = await replicate(bernardToken, [claim, dangling]);
    expectRefusedAsMissing([claimed], 'Binary/other-desktop-letter', 'DocumentReference.content.attachment.url');
    expectRefusedAsMissing([missing], 'Binary/not-pushed-yet', 'DocumentReference.content.attachment.url');
    // Its pusher still names it.
    expect(outcomes(await replicate(otherDesktopToken, [version(documentAbout('pb', 'bernard', 'Binary/other-desktop-letter'), 'other-desktop-document')]))).toEqual(['created']);
  });

  it('cannot fill a document of another practice by pushing a new Binary under the id it names', async () => {
    // Filed by the owner under Dr Alpha's patient before its content came.
    const filed = await hub.request('DocumentReference', { method: 'POST', json: documentAbout('pa', 'alpha', 'Binary/filed-later') });
    expect(filed.status).toBe(201);
    const [pushed] = await replicate(bernardToken, [binary('filed-later', LETTER_B)]);
    expect([pushed.extension[0].valueCode, pushed.response.status]).toEqual(['refused', '403']);
    expect(hub.repository.exists('Binary', 'filed-later')).toBe(false);
  });
});

describe('what a peer with a reach pushes of its own', () => {
  it('a Binary and the DocumentReference naming it, in one page in either order or in two pages: it reads its document', async () => {
    const pages = [
      [binary('letter-1'), version(documentAbout('pb', 'bernard', 'Binary/letter-1'), 'document-1')],
      [version(documentAbout('pb', 'bernard', `${hub.fhir}/Binary/letter-2`), 'document-2'), binary('letter-2')],
      [binary('letter-3')],
      [version(documentAbout('pb', 'bernard', 'Binary/letter-3'), 'document-3')],
    ];
    for (const page of pages) expect(outcomes(await replicate(bernardToken, page))).toEqual(page.map(() => 'created'));
    for (const id of ['letter-1', 'letter-2', 'letter-3']) {
      const read = await readBinary(bernardToken, id);
      expect(read.status, id).toBe(200);
      expect(read.bytes).toEqual(LETTER_B);
    }
    // Sent again (a lost answer): duplicates, nothing refused.
    expect(outcomes(await replicate(bernardToken, pages[0]))).toEqual(['duplicate', 'duplicate']);
    // Nobody else reads it.
    expect((await readBinary(alphaToken, 'letter-1')).status).toBe(404);
  });

  it('a message carrying its DocumentReference, before it in the page, and a later version of that document', async () => {
    const document = version(documentAbout('pb', 'bernard', 'Binary/letter-4'), 'document-4');
    const page = [version(message('Communication', 'DocumentReference/document-4'), 'message-4'), document, binary('letter-4')];
    expect(outcomes(await replicate(bernardToken, page))).toEqual(['created', 'created', 'created']);
    const described = version({ ...document.resource, description: 'Courrier relu' }, 'document-4', [versionIdOf(document)]);
    expect(outcomes(await replicate(bernardToken, [described]))).toEqual(['created']);
  });

  it('through the sync loop: an office pushes what its software posted, document and content, in one transaction or one after the other', async () => {
    connect(office, hub, { credentials: bernardPeer });
    const together = await office.request('', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: documentAbout('pb', 'bernard', 'urn:uuid:6f1c2d3e-0000-4000-8000-000000000009'), request: { method: 'POST', url: 'DocumentReference' } },
          { fullUrl: 'urn:uuid:6f1c2d3e-0000-4000-8000-000000000009', resource: { resourceType: 'Binary', contentType: 'application/pdf', content: LETTER_B.toString('base64') }, request: { method: 'POST', url: 'Binary' } },
        ],
      },
    });
    expect(together.status, await together.clone().text()).toBe(200);
    const [documentId, binaryId] = ((await together.json()) as Json).entry.map((entry: Json) => /\/(?:DocumentReference|Binary)\/([^/]+)\//.exec(entry.response.location)![1]);
    await eventually(() => hub.repository.exists('DocumentReference', documentId) && hub.repository.exists('Binary', binaryId), 'the hub has the document and its content');
    expect((await readBinary(bernardToken, binaryId)).bytes).toEqual(LETTER_B);

    // The Lifen sequence, pushed as it is written: the Binary alone first, then the document naming it.
    const alone = await office.request('', { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Binary', id: 'office-letter', contentType: 'application/pdf', content: LETTER_B.toString('base64') }, request: { method: 'PUT', url: 'Binary/office-letter' } }] } });
    expect(alone.status, await alone.clone().text()).toBe(200);
    await eventually(() => hub.repository.exists('Binary', 'office-letter'), 'the hub has the Binary');
    const named = await office.request('DocumentReference', { method: 'POST', json: documentAbout('pb', 'bernard', 'Binary/office-letter') });
    expect(named.status).toBe(201);
    const namedId = ((await named.json()) as Json).id;
    await eventually(() => hub.repository.exists('DocumentReference', namedId), 'the hub has the document');
    expect((await readBinary(bernardToken, 'office-letter')).bytes).toEqual(LETTER_B);
  });

  it('leaves peers without a reach (the owner client) free to name any Binary, as through the API', async () => {
    const results = await replicate(hub.token, [version(documentAbout('pa', 'alpha', `Binary/${alphaBinary}`), 'owner-document'), version(documentAbout('pa', 'alpha', 'Binary/filed-much-later'), 'owner-dangling')]);
    expect(outcomes(results)).toEqual(['created', 'created']);
  });
});
