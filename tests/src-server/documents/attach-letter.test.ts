import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, startTestNode, type TestNode } from '../../helpers/node';
import { coded } from '../../helpers/refusals';
import { clientToken } from '../../helpers/users';
import { INS, PDF, PRACTICE_A, postDocument, seedOffice, sendRequest, settledCommunications } from './fixtures';

/**
 * Letters whose patient the reader does not know, filed from the inbox (issue 26), over HTTP on a real node. The
 * ways such a letter arrives: the practice's own software (its MSSanté mail client, a lab) posts it with the
 * patient's identity only — the INS as a logical reference, or a contained Patient — and a Communication to the
 * practitioner; or another practice of the office sends it by the internal channel, about its own Patient, which the
 * reader does not see. `$attach` files it into the record of a patient the reader follows: the practice's own letter
 * is updated, the identity as sent kept; another practice's is left untouched and the reader gets a copy of their own.
 */

type Json = Record<string, any>;

/** The extensions vendors read (docs/documents.md). */
const SUBJECT_AS_SENT_URL = 'http://liaison.health/fhir/StructureDefinition/subject-as-sent';
const PATIENT_IDENTITY_URL = 'http://liaison.health/fhir/StructureDefinition/patient-identity';

let node: TestNode;
let tokens: Record<'alpha' | 'aubert' | 'bernard' | 'secretary', string>;
/** The practice's MSSanté mail client: an API client acting for practice A. */
let mailClient: string;

const as = (token: string, path: string, init: RequestInit & { json?: unknown } = {}) => fhirFetch(node.fhir, token, path, init);
const body = async (response: Response) => (await response.json()) as Json;
const attach = (token: string, letter: string, patient: string, headers: Record<string, string> = {}) =>
  as(token, `DocumentReference/${letter}/$attach`, { method: 'POST', headers, json: { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: patient } }] } });
const INS_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
const CONTAINED_PATIENT = { resourceType: 'Patient', id: 'patient', identifier: [{ system: INS_SYSTEM, value: INS }], name: [{ family: 'Martin', given: ['Hélène'] }], birthDate: '1980-02-29', gender: 'female' };

/** A letter as the mail client files what it received: its PDF, the DocumentReference about `subject`, a Communication to Dr Alpha. */
async function receivedLetter(token: string, subject: Json, more: Json = {}): Promise<{ letter: string; response: Response }> {
  const binary = await body(await as(token, 'Binary', { method: 'POST', body: PDF, headers: { 'content-type': 'application/pdf' } }));
  const response = await as(token, 'DocumentReference', {
    method: 'POST',
    json: {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11502-2', display: 'Compte rendu de biologie' }] },
      subject,
      indexed: '2026-12-01T08:00:00Z',
      description: 'Résultats de biologie',
      content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binary.id}` } }],
      ...more,
    },
  });
  if (response.status !== 201) return { letter: '', response };
  const letter = (await body(response.clone())).id as string;
  const communication = await as(token, 'Communication', {
    method: 'POST',
    json: { resourceType: 'Communication', status: 'completed', recipient: [{ reference: 'Practitioner/alpha' }], sent: '2026-12-01T08:00:05Z', payload: [{ contentReference: { reference: `DocumentReference/${letter}` } }] },
  });
  expect(communication.status, await communication.clone().text()).toBe(201);
  return { letter, response };
}

const everything = async (token: string, patient: string) => ((await body(await as(token, `Patient/${patient}/$everything?_count=100`))).entry ?? []).map((entry: Json) => `${entry.resource.resourceType}/${entry.resource.id}`);
const attachesAudited = (letter: string) =>
  node.db.prepare('SELECT client_id AS caller, status FROM audit_log WHERE action = ? ORDER BY seq').all(`POST /fhir/DocumentReference/${letter}/$attach`) as Array<{ caller: string; status: number }>;
const versionsOf = (letter: string) => (node.db.prepare("SELECT count(*) AS n FROM resource_versions WHERE resource_type = 'DocumentReference' AND resource_id = ?").get(letter) as { n: number }).n;

beforeAll(async () => {
  node = await startTestNode();
  tokens = seedOffice(node.db, node.repository);
  mailClient = await clientToken(node, {
    scopes: ['BINARY_CREATE', 'BINARY_READ', 'DOCUMENTREFERENCE_CREATE', 'DOCUMENTREFERENCE_READ', 'COMMUNICATION_CREATE', 'COMMUNICATION_READ'],
    organizationId: PRACTICE_A,
  });
  await postDocument(node.fhir, tokens.alpha, 'p-martin');
  // Dr Bernard's own record of the same person (another practice: on this node, without the INS Dr Alpha's holds).
  const bernardsPatient = await as(tokens.bernard, 'Patient/pb-martin', {
    method: 'PUT',
    json: { resourceType: 'Patient', id: 'pb-martin', name: [{ family: 'Martin', given: ['Hélène'] }], birthDate: '1980-02-29', generalPractitioner: [{ reference: 'Practitioner/bernard' }] },
  });
  expect(bernardsPatient.status).toBe(201);
  for (const id of ['pb-autre', 'p-alpha-2']) {
    const practitioner = id === 'pb-autre' ? 'bernard' : 'alpha';
    const made = await as(tokens[practitioner], `Patient/${id}`, { method: 'PUT', json: { resourceType: 'Patient', id, name: [{ family: 'Durand', given: ['Paul'] }], birthDate: '1955-06-01', generalPractitioner: [{ reference: `Practitioner/${practitioner}` }] } });
    expect(made.status).toBe(201);
  }
});
afterAll(async () => {
  await node?.stop();
});

describe('letters delivered through the API with the identity only', () => {
  it('a practice client must say whose letter it is (the practice as custodian): naming nobody of its practice, it would be seen by nobody (403)', async () => {
    const { response: orphan } = await receivedLetter(mailClient, { identifier: { system: INS_SYSTEM, value: INS } });
    expect(orphan.status).toBe(403);
    expect(coded(await body(orphan)).code).toBe('outside-access');
    const { response } = await receivedLetter(mailClient, { identifier: { system: INS_SYSTEM, value: INS }, display: 'MARTIN Hélène' }, { custodian: { reference: `Organization/${PRACTICE_A}` } });
    expect(response.status).toBe(201);
  });

  it('a letter naming the INS only is filed into the patient: the same DocumentReference, updated, its subject as sent kept, audited', async () => {
    const sent = { identifier: { system: INS_SYSTEM, value: INS }, display: 'MARTIN Hélène' };
    const { letter } = await receivedLetter(mailClient, sent, { custodian: { reference: `Organization/${PRACTICE_A}` } });
    // Dr Alpha reads it through the Communication; it is in no patient's record yet.
    expect((await as(tokens.alpha, `DocumentReference/${letter}`)).status).toBe(200);
    expect(await everything(tokens.alpha, 'p-martin')).not.toContain(`DocumentReference/${letter}`);

    const attached = await attach(tokens.alpha, letter, 'Patient/p-martin');
    expect(attached.status, await attached.clone().text()).toBe(200);
    const filed = await body(attached);
    expect(filed.id).toBe(letter);
    expect(filed.subject).toEqual({ reference: 'Patient/p-martin' });
    expect(filed.extension).toEqual([{ url: SUBJECT_AS_SENT_URL, valueReference: sent }]);
    expect(filed.custodian).toEqual({ reference: `Organization/${PRACTICE_A}` });
    expect(attached.headers.get('etag')).toBe(`W/"${filed.meta.versionId}"`);

    expect(await everything(tokens.alpha, 'p-martin')).toContain(`DocumentReference/${letter}`);
    const found = await body(await as(tokens.alpha, 'DocumentReference?patient=Patient/p-martin&_count=100'));
    expect(found.entry.map((entry: Json) => entry.resource.id)).toContain(letter);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(attachesAudited(letter)).toEqual([{ caller: 'user:u-alpha', status: 200 }]);
  });

  it('a letter with a contained Patient keeps it, named as the subject as sent', async () => {
    const { letter, response } = await receivedLetter(node.token, { reference: '#patient', display: 'MARTIN Hélène' }, { contained: [CONTAINED_PATIENT] });
    expect(response.status).toBe(201);
    const attached = await attach(tokens.alpha, letter, 'Patient/p-martin');
    expect(attached.status, await attached.clone().text()).toBe(200);
    const filed = await body(attached);
    expect(filed.subject).toEqual({ reference: 'Patient/p-martin' });
    expect(filed.contained).toEqual([CONTAINED_PATIENT]);
    expect(filed.extension).toEqual([{ url: SUBJECT_AS_SENT_URL, valueReference: { reference: '#patient', display: 'MARTIN Hélène' } }]);
    // Every version is kept: the letter as it came is its first.
    const history = await body(await as(tokens.alpha, `DocumentReference/${letter}/_history`));
    expect(history.entry.map((entry: Json) => entry.resource.subject.reference)).toEqual(['Patient/p-martin', '#patient']);
  });

  it('attaching twice: to the same patient answers the letter as filed and writes nothing; to another, 409', async () => {
    const { letter } = await receivedLetter(mailClient, { identifier: { system: INS_SYSTEM, value: INS } }, { custodian: { reference: `Organization/${PRACTICE_A}` } });
    const first = await body(await attach(tokens.alpha, letter, 'Patient/p-martin'));
    const again = await attach(tokens.alpha, letter, 'Patient/p-martin');
    expect(again.status).toBe(200);
    expect((await body(again)).meta.versionId).toBe(first.meta.versionId);
    const elsewhere = await attach(tokens.alpha, letter, 'Patient/p-alpha-2');
    expect(elsewhere.status).toBe(409);
    expect(coded(await body(elsewhere)).code).toBe('attach-already-attached');
    expect(versionsOf(letter)).toBe(2);
  });

  it('a change made meanwhile: an If-Match of an earlier version is 412, and nothing is written', async () => {
    const { letter, response } = await receivedLetter(mailClient, { identifier: { system: INS_SYSTEM, value: INS } }, { custodian: { reference: `Organization/${PRACTICE_A}` } });
    const seen = (await body(response)).meta.versionId as string;
    const current = await body(await as(tokens.alpha, `DocumentReference/${letter}`));
    const edited = await as(tokens.alpha, `DocumentReference/${letter}`, { method: 'PUT', json: { ...current, description: 'Bilan sanguin' } });
    expect(edited.status).toBe(200);
    const stale = await attach(tokens.alpha, letter, 'Patient/p-martin', { 'if-match': `W/"${seen}"` });
    expect(stale.status).toBe(412);
    expect(coded(await body(stale)).code).toBe('version-mismatch');
    expect(versionsOf(letter)).toBe(2);
    const fresh = await attach(tokens.alpha, letter, 'Patient/p-martin', { 'if-match': edited.headers.get('etag')! });
    expect(fresh.status).toBe(200);
    expect((await body(fresh)).description).toBe('Bilan sanguin');
  });

  it('a forged patient (another practice\'s, or none) is refused as one that does not exist, and a letter the caller cannot see is 404', async () => {
    const { letter } = await receivedLetter(mailClient, { identifier: { system: INS_SYSTEM, value: INS } }, { custodian: { reference: `Organization/${PRACTICE_A}` } });
    for (const patient of ['Patient/pb-martin', 'Patient/nobody']) {
      const forged = await attach(tokens.alpha, letter, patient);
      expect(forged.status).toBe(422);
      expect(coded(await body(forged))).toMatchObject({ code: 'attach-patient-unknown', expression: ['patient'] });
    }
    const notAPatient = await attach(tokens.alpha, letter, 'Practitioner/alpha');
    expect(notAPatient.status).toBe(400);
    expect(coded(await body(notAPatient)).code).toBe('attach-patient-missing');
    // Dr Bernard (another practice) does not see practice A's letter: it does not exist for him.
    const hidden = await attach(tokens.bernard, letter, 'Patient/pb-martin');
    expect(hidden.status).toBe(404);
    expect(versionsOf(letter)).toBe(1);
  });
});

describe("letters from another practice (the internal channel)", () => {
  it("is left as the sender wrote it: the reader's practice gets its own copy about its patient, once", async () => {
    const sent = await postDocument(node.fhir, tokens.alpha, 'p-martin');
    // Kept by Dr Alpha's practice: its members see it, not Dr Bernard's copy.
    const written = await body(await as(tokens.alpha, `DocumentReference/${sent.documentReference}`));
    expect((await as(tokens.alpha, `DocumentReference/${sent.documentReference}`, { method: 'PUT', json: { ...written, custodian: { reference: `Organization/${PRACTICE_A}` } } })).status).toBe(200);
    const created = await as(tokens.alpha, 'CommunicationRequest', { method: 'POST', json: sendRequest(sent.documentReference, [{ reference: 'Practitioner/bernard' }]) });
    expect(created.status, await created.clone().text()).toBe(201);
    const [delivery] = await settledCommunications(node.fhir, tokens.alpha, (await body(created)).id);
    expect(delivery.status).toBe('completed');
    // Dr Bernard reads the letter, not its patient (Dr Alpha's): his delivery gives the patient's identity as Dr Alpha
    // has it (INS and traits, nothing else of the record), so that he can tell whom it is about.
    const received = await body(await as(tokens.bernard, `Communication/${delivery.id}`));
    expect(received.extension).toEqual([{ url: PATIENT_IDENTITY_URL, valueReference: { reference: '#patient' } }]);
    expect(received.contained).toEqual([{ resourceType: 'Patient', id: 'patient', identifier: [{ system: INS_SYSTEM, value: INS }], name: [{ family: 'Martin', given: ['Hélène'] }], gender: 'female', birthDate: '1980-02-29' }]);
    const original = await body(await as(tokens.bernard, `DocumentReference/${sent.documentReference}`));
    expect((await as(tokens.bernard, 'Patient/p-martin')).status).toBe(404);

    const attached = await attach(tokens.bernard, sent.documentReference, 'Patient/pb-martin');
    expect(attached.status, await attached.clone().text()).toBe(201);
    const copy = await body(attached);
    expect(copy.id).not.toBe(sent.documentReference);
    expect(copy.subject).toEqual({ reference: 'Patient/pb-martin' });
    expect(copy.extension).toEqual([{ url: SUBJECT_AS_SENT_URL, valueReference: { reference: 'Patient/p-martin' } }]);
    expect(copy.context.related).toEqual([{ ref: { reference: `DocumentReference/${sent.documentReference}` } }]);
    expect(copy.content).toEqual(original.content);
    expect(copy.author).toEqual(original.author);
    expect(copy.custodian).toBeUndefined();
    expect((await as(tokens.aubert, `DocumentReference/${copy.id}`)).status).toBe(404);

    // The sender's letter is untouched, still in Dr Alpha's patient's record and only there.
    const after = await body(await as(tokens.alpha, `DocumentReference/${sent.documentReference}`));
    expect(after.meta.versionId).toBe(original.meta.versionId);
    expect(await everything(tokens.alpha, 'p-martin')).toContain(`DocumentReference/${sent.documentReference}`);
    // The copy is in Dr Bernard's patient's record, and its PDF reads.
    expect(await everything(tokens.bernard, 'pb-martin')).toContain(`DocumentReference/${copy.id}`);
    const pdf = await as(tokens.bernard, copy.content[0].attachment.url, { headers: { accept: 'application/pdf' } });
    expect(pdf.status).toBe(200);

    // Once: asked again it answers the copy; for another patient, 409.
    const again = await attach(tokens.bernard, sent.documentReference, 'Patient/pb-martin');
    expect(again.status).toBe(200);
    expect((await body(again)).id).toBe(copy.id);
    const elsewhere = await attach(tokens.bernard, sent.documentReference, 'Patient/pb-autre');
    expect(elsewhere.status).toBe(409);
    expect(coded(await body(elsewhere)).code).toBe('attach-already-attached');

    // The sender, who follows the letter's patient, has nothing to attach: to another of their patients is 409.
    const moved = await attach(tokens.alpha, sent.documentReference, 'Patient/p-alpha-2');
    expect(moved.status).toBe(409);
  });
});
