import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSSANTE_EXTENSION } from '../../../src-server/directory/codes';
import { fhirFetch, type TestNode } from '../../helpers/node';
import { connect, eventually, FAST_SYNC, startSyncNodes } from '../../helpers/sync-nodes';
import { userToken } from '../../helpers/users';
import { channelOf, EXTERNAL_MAILBOX, PDF, PRACTICE_A, PRACTICE_B, postDocument, sendRequest, settledCommunications } from './fixtures';

/**
 * The internal channel reaches the recipients of office peers (docs/documents.md, docs/sync.md): node B tells A in
 * its handshake that it serves Dr Bernard; a document Dr Alpha sends on A to Practitioner/bernard goes by the internal
 * channel, and sync brings the Communication, the DocumentReference and the PDF to B, where Dr Bernard (a user of B
 * only) finds it in their inbox. A directory peer's recipients do not count; a removed peer's are forgotten.
 */

type Json = Record<string, any>;

let a: TestNode;
let b: TestNode;
/** A directory peer of A, with a user of its own: not reachable internally from A. */
let directory: TestNode;
let alpha: string;
let bernard: string;
let bPeerOfA: string;

/** The same directory on every node (directory data does not travel between office peers). */
function seedDirectory(node: TestNode): void {
  const practitioner = (id: string, telecom: Json[] = []) =>
    node.repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id, prefix: ['Dr'] }], ...(telecom.length ? { telecom } : {}) });
  practitioner('alpha');
  practitioner('bernard');
  practitioner('cyan');
  practitioner('tardif');
  practitioner('injoignable');
  practitioner('externe', [{ extension: [{ url: MSSANTE_EXTENSION, extension: [{ url: 'type', valueCode: 'PER' }] }], system: 'email', value: EXTERNAL_MAILBOX }]);
  node.repository.update('Organization', PRACTICE_A, { resourceType: 'Organization', id: PRACTICE_A, name: 'Cabinet des Lilas' });
  node.repository.update('Organization', PRACTICE_B, { resourceType: 'Organization', id: PRACTICE_B, name: 'Maison de santé du Port' });
}

/** Dr Alpha sends a document from A to one recipient. */
const send = (recipient: string, { documentReference, patient }: { documentReference: string; patient: string }) =>
  fhirFetch(a.fhir, alpha, 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: recipient }], { subject: { reference: `Patient/${patient}` } }) });

/** A Binary's bytes as a user reads them on a node, once its content has come (503 meanwhile). */
async function readContent(node: TestNode, token: string, binary: string): Promise<Response> {
  for (const deadline = Date.now() + 15_000; ; ) {
    const response = await fhirFetch(node.fhir, token, `Binary/${binary}`, { headers: { accept: 'application/pdf' } });
    if (response.status !== 503 || Date.now() > deadline) return response;
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  [a, b, directory] = await startSyncNodes(3, { sync: { ...FAST_SYNC, handshakeMs: 200 } });
  for (const node of [a, b, directory]) seedDirectory(node);
  alpha = userToken(a.db, { userId: 'u-alpha', roles: 'practitioner', practitionerId: 'alpha', organizations: PRACTICE_A });
  bernard = userToken(b.db, { userId: 'u-bernard', roles: 'practitioner', practitionerId: 'bernard', organizations: PRACTICE_B });
  userToken(directory.db, { userId: 'u-cyan', roles: 'practitioner', practitionerId: 'cyan', organizations: 'annuaire' });
  bPeerOfA = connect(a, b);
  connect(b, a);
  const directoryPeer = connect(a, directory, { kind: 'directory' });
  await eventually(() => a.sync.peers.recipientsOf(bPeerOfA).includes('Practitioner/bernard') && a.sync.peers.get(directoryPeer).remoteNode !== undefined, 'A knows whom B serves');
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), directory?.stop()]);
});

describe('recipients served by office peers', () => {
  it("a node's handshake names its users' Practitioners and practices, ids only", async () => {
    const response = await b.request('$handshake');
    expect(response.status).toBe(200);
    const parameters = ((await response.json()) as Json).parameter as Json[];
    const recipients = parameters.filter((parameter) => parameter.name === 'recipient').map((parameter) => parameter.valueReference.reference);
    expect(recipients).toEqual(['Practitioner/bernard', `Organization/${PRACTICE_B}`]);
    expect(a.sync.peers.recipientsOf(bPeerOfA)).toEqual([`Organization/${PRACTICE_B}`, 'Practitioner/bernard']);
  });

  it("a document for a peer's user goes by the internal channel and reaches their inbox on the peer, PDF included", async () => {
    const sent = await postDocument(a.fhir, alpha);
    const { documentReference, binary } = sent;
    const created = await send('Practitioner/bernard', sent);
    expect(created.status, await created.clone().text()).toBe(201);
    const requestId = ((await created.json()) as Json).id as string;
    const [communication, ...others] = await settledCommunications(a.fhir, alpha, requestId);
    expect(others).toEqual([]);
    expect(channelOf(communication)).toBe('internal');
    expect(communication.status).toBe('completed');

    // Before sync brings it, Dr Bernard's inbox on B is empty; then it holds the Communication with its document.
    const inbox = () => fhirFetch(b.fhir, bernard, 'Communication?recipient=Practitioner/bernard&status=completed&_sort=-sent&_include=Communication:payload');
    await eventually(
      () => JSON.parse(b.repository.read('Communication', communication.id)?.json ?? '{}').status === 'completed' && b.repository.exists('Binary', binary),
      'the completed Communication and the Binary are on B',
    );
    const bundle = (await (await inbox()).json()) as Json;
    const entries = (bundle.entry ?? []).map((entry: Json) => entry.resource as Json);
    expect(entries.filter((entry: Json) => entry.resourceType === 'Communication').map((entry: Json) => entry.id)).toEqual([communication.id]);
    expect(entries.filter((entry: Json) => entry.resourceType === 'DocumentReference').map((entry: Json) => entry.id)).toEqual([documentReference]);

    const reference = await fhirFetch(b.fhir, bernard, `DocumentReference/${documentReference}`);
    expect(reference.status).toBe(200);
    const content = await readContent(b, bernard, binary);
    expect(content.status).toBe(200);
    expect(Buffer.from(await content.arrayBuffer()).equals(PDF)).toBe(true);
  });

  it("a user added on the peer is known at its next handshake", async () => {
    userToken(b.db, { userId: 'u-tardif', roles: 'practitioner', practitionerId: 'tardif', organizations: PRACTICE_B });
    await eventually(() => a.sync.peers.recipientsOf(bPeerOfA).includes('Practitioner/tardif'), 'A knows Dr Tardif is served by B');
    const created = await send('Practitioner/tardif', await postDocument(a.fhir, alpha));
    expect(created.status, await created.clone().text()).toBe(201);
  });

  it('a recipient served by no node gets 422, one with a mailbox goes by MSSanté (not set up on this node: 412)', async () => {
    const sent = await postDocument(a.fhir, alpha);
    const refused = await send('Practitioner/injoignable', sent);
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('No channel reaches Practitioner/injoignable');
    const byMail = await send('Practitioner/externe', sent);
    expect(byMail.status).toBe(412);
    expect(await byMail.text()).toContain('The mssante channel that reaches Practitioner/externe is not set up on this node');
  });

  it("a directory peer's users are not reached by the internal channel", async () => {
    const refused = await send('Practitioner/cyan', await postDocument(a.fhir, alpha));
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('No channel reaches Practitioner/cyan');
    expect(a.db.prepare('SELECT count(*) FROM sync_peer_recipients WHERE peer_id <> ?').pluck().get(bPeerOfA)).toBe(0);
  });

  it("a removed peer's recipients are forgotten", async () => {
    const sent = await postDocument(a.fhir, alpha);
    a.sync.peers.remove(bPeerOfA);
    expect(a.db.prepare('SELECT count(*) FROM sync_peer_recipients').pluck().get()).toBe(0);
    const refused = await send('Practitioner/bernard', sent);
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('not a user or practice of this node or of its office peers');
  });
});
