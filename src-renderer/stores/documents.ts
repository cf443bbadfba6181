import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { fhir } from '../api';
import { matches, resourcesOf } from '../api/fhir-client';
import type { Bundle, CodeableConcept, Communication, CommunicationRequest, DocumentReference, OperationOutcome, Parameters, Patient, Reference } from '../api/fhir-types';
import { refusalIn, type Refusal } from '../api/refusal';
import { identityOf, INS_SYSTEM, isCloseName, type LetterIdentity } from '../letter-identity';
import { useNamesStore } from './names';
import { useSessionStore } from './session';

/**
 * Documents as the practice exchanges them (DESIGN §2, Document API): a PDF is uploaded as a Binary, described by a
 * DocumentReference about a patient, and sent by a CommunicationRequest naming its recipients. The node delivers it
 * and records one Communication per recipient and channel (`basedOn` the request): that is each recipient's status.
 * The inbox is the Communications addressed to the user; reading one sets its `received`.
 *
 * Each list's search brings, with `_include`, the documents its messages carry and the patients, senders and
 * recipients they name, so that rows show names (stores/names.ts); the node leaves out what the user may not see.
 */

/** What each list's search includes: what its rows show by name. */
export const INBOX_INCLUDES = ['Communication:payload', 'Communication:subject', 'Communication:sender'];
export const OUTBOX_INCLUDES = ['CommunicationRequest:payload', 'CommunicationRequest:subject', 'CommunicationRequest:recipient'];
export const DOCUMENT_INCLUDES = ['DocumentReference:subject'];

export const DOCUMENT_TYPES: ReadonlyArray<{ code: string; key: string }> = [
  { code: '11488-4', key: 'consultation' },
  { code: '34133-9', key: 'summary' },
  { code: '57833-6', key: 'prescription' },
  { code: '11502-2', key: 'laboratory' },
  { code: '18748-4', key: 'imaging' },
];
export const LOINC = 'http://loinc.org';

/** Binary + DocumentReference for an uploaded file, or the step that failed. */
export interface NewDocument {
  file: File;
  patient: Patient;
  typeCode: string;
  typeLabel: string;
  description?: string;
}

export type DeliveryStatus = 'pending' | 'in-progress' | 'completed' | 'failed';

export interface OutboxItem {
  request: CommunicationRequest;
  document?: DocumentReference;
  /** Per recipient reference: how its delivery stands, and the channel's code (`internal`, `mssante`…) it goes by. */
  deliveries: Delivery[];
}

export interface Delivery {
  recipient: Reference;
  status: DeliveryStatus;
  channel?: string;
  /** Its Communication, which `$retry` attempts again once it failed. */
  communicationId?: string;
  /** Why it failed: the node's code (`refused`, `gave-up`…), its French text, and the channel's own words. */
  failure?: { code?: string; text?: string; detail?: string };
}

export interface InboxItem {
  communication: Communication;
  document?: DocumentReference;
  /** The sender's cover message (the message's text payload). */
  message?: string;
  /** The patient as the letter identifies them, when it names none the user follows. */
  identity?: LetterIdentity;
  /** Where the letter is filed for the user: the patient they follow, and the document in their record (the letter, or their copy of another practice's). */
  filed?: { patient: Reference; document: DocumentReference };
}

/** One of the user's patients proposed for a letter: by the same INS, or by the same birth date and a close name. */
export interface Candidate {
  patient: Patient;
  by: 'ins' | 'traits';
}

/** A recipient being chosen for a send, with the MSSanté mailbox chosen among its several. */
export interface DraftRecipient {
  reference: string;
  display: string;
  mailbox?: string;
}

/** A recipient as a send names it. */
type SendRecipient = Omit<DraftRecipient, 'display'> & { display?: string };

/** How the node will reach a recipient (`$route`): its channels and mailbox, or why none can. */
export interface RecipientRoute {
  reference: string;
  channels: string[];
  address?: string;
  mailboxes: string[];
  refusal?: Refusal;
}

/** Lifen's extension naming the exact mailbox of a recipient (src-server/lifen/codes.ts). */
const RECIPIENT_DETAILS_URL = 'http://lifen.fr/fhir/StructureDefinition/communicationrequest-recipient-details';
const FAILURE_SYSTEM = 'urn:liaison:delivery-failure';
const FAILURE_DETAIL_URL = 'https://liaison.example/fhir/StructureDefinition/delivery-failure-detail';

/** The cover message a message carries (its text payloads). */
function messageOf(payload: Array<{ contentString?: string }> | undefined): string | undefined {
  const texts = payload?.map((part) => part.contentString).filter((text): text is string => Boolean(text?.trim()));
  return texts?.length ? texts.join('\n\n') : undefined;
}

function failureOf(communication: Communication | undefined): Delivery['failure'] {
  const reason = communication?.notDoneReason;
  if (!reason) return undefined;
  return {
    code: reason.coding?.find((coding) => coding.system === FAILURE_SYSTEM)?.code,
    text: reason.text,
    detail: reason.extension?.find((extension) => extension.url === FAILURE_DETAIL_URL)?.valueString,
  };
}

function routeOf(parameter: Parameters['parameter'] extends Array<infer P> | undefined ? P : never): RecipientRoute {
  const parts = parameter.part ?? [];
  const outcome = parts.find((part) => part.name === 'outcome')?.resource as OperationOutcome | undefined;
  return {
    reference: parts.find((part) => part.name === 'reference')?.valueReference?.reference ?? '',
    channels: parts.filter((part) => part.name === 'channel').map((part) => part.valueCoding?.code ?? ''),
    address: parts.find((part) => part.name === 'address')?.valueString,
    mailboxes: parts.filter((part) => part.name === 'mailbox').map((part) => part.valueString ?? ''),
    ...(outcome ? { refusal: refusalIn(outcome, 422) } : {}),
  };
}

/** The `DocumentReference/<id>` a message carries. */
function documentOf(payload: Array<{ contentReference?: Reference }> | undefined): string | undefined {
  return payload?.map((part) => part.contentReference?.reference).find((reference) => reference?.startsWith('DocumentReference/'));
}

/** The node's channels are coded in this system (src-server/channels/channel.ts); another coding is read as it is. */
const CHANNEL_SYSTEM = 'urn:liaison:channel';

/** The code of the channel a delivery goes by (`internal`, `mssante`, `dpi`, `dmp`). */
function channelOf(communication: Communication | undefined): string | undefined {
  const codings = communication?.medium?.flatMap((medium) => medium.coding ?? []) ?? [];
  return (codings.find((coding) => coding.system === CHANNEL_SYSTEM) ?? codings[0])?.code;
}

function deliveryStatus(communication: Communication | undefined): DeliveryStatus {
  switch (communication?.status) {
    case undefined:
      return 'pending';
    case 'completed':
      return 'completed';
    case 'entered-in-error':
    case 'aborted':
      return 'failed';
    default:
      return 'in-progress';
  }
}

export const useDocumentsStore = defineStore('documents', () => {
  const documents = shallowRef<DocumentReference[]>([]);
  const inbox = shallowRef<InboxItem[]>([]);
  const outbox = shallowRef<OutboxItem[]>([]);
  const loading = ref(false);
  const error = ref<unknown>();
  /** Recipients chosen in the directory ("send a document to…") before a document is picked. */
  const draftRecipients = ref<DraftRecipient[]>([]);

  const names = useNamesStore();

  /**
   * The matches of a search with its includes: the names kept for the rows (and the trades of the practitioners
   * among them, asked once), and the documents the messages carry by reference.
   */
  async function searchNamed<T extends Communication | CommunicationRequest | DocumentReference>(type: T['resourceType'], params: Record<string, string>, includes: string[]): Promise<{ found: T[]; documents: Map<string, DocumentReference>; trades: Promise<void> }> {
    const bundle = (await fhir.search<T>(type, { ...params, _include: includes })) as Bundle;
    names.learn(bundle.entry?.map((entry) => entry.resource) ?? []);
    const trades = names.learnTrades(resourcesOf(bundle, 'Practitioner').map((practitioner) => `Practitioner/${practitioner.id}`));
    const documents = new Map(resourcesOf<DocumentReference>(bundle, 'DocumentReference').map((document) => [`DocumentReference/${document.id}`, document]));
    return { found: matches(bundle as Bundle<T>), documents, trades };
  }

  async function guarded(load: () => Promise<void>): Promise<void> {
    loading.value = true;
    error.value = undefined;
    try {
      await load();
    } catch (caught) {
      error.value = caught;
    } finally {
      loading.value = false;
    }
  }

  function loadDocuments(patientId?: string): Promise<void> {
    return guarded(async () => {
      const { found, trades } = await searchNamed<DocumentReference>('DocumentReference', { ...(patientId ? { patient: `Patient/${patientId}` } : {}), _count: '50' }, DOCUMENT_INCLUDES);
      await trades;
      documents.value = found;
    });
  }

  function loadInbox(): Promise<void> {
    return guarded(async () => {
      const me = useSessionStore().userReference;
      if (!me) return void (inbox.value = []);
      // The letters' own patients too, so that a letter filed in a patient's record reads as filed.
      const { found, documents: byId, trades } = await searchNamed<Communication>('Communication', { recipient: me, _count: '50', '_include:iterate': 'DocumentReference:subject' }, INBOX_INCLUDES);
      const items = found.map((communication) => {
        const document = byId.get(documentOf(communication.payload) ?? '');
        return { communication, document, message: messageOf(communication.payload), identity: identityOf(communication, document), filed: filedIn(document) };
      });
      const copies = await copiesOf(items.filter((item) => item.document && !item.filed).map((item) => item.document!));
      await trades;
      inbox.value = items.map((item) => (item.filed || !item.document ? item : { ...item, filed: filedIn(copies.get(`DocumentReference/${item.document.id}`)) }));
    });
  }

  /** The letter as filed in the record of a patient the user follows (the node gave that patient), if it is. */
  function filedIn(document: DocumentReference | undefined): InboxItem['filed'] {
    const patient = document?.subject?.reference;
    return document && patient?.startsWith('Patient/') && names.resources.has(patient) ? { patient: document.subject!, document } : undefined;
  }

  /** The user's copies of other practices' letters (`$attach` made them: `context.related` names the letter), by letter. */
  async function copiesOf(letters: DocumentReference[]): Promise<Map<string, DocumentReference>> {
    const about = letters.filter((letter) => letter.subject?.reference?.startsWith('Patient/')).map((letter) => `DocumentReference/${letter.id}`);
    if (about.length === 0) return new Map();
    let bundle: Bundle;
    try {
      bundle = (await fhir.search<DocumentReference>('DocumentReference', { 'related-ref': about.join(','), _include: 'DocumentReference:subject', _count: '100' })) as Bundle;
    } catch {
      // The letters then read as not filed: filing one again answers the copy already made.
      return new Map();
    }
    names.learn(bundle.entry?.map((entry) => entry.resource) ?? []);
    const copies = matches(bundle as Bundle<DocumentReference>);
    return new Map(copies.flatMap((copy) => (copy.context?.related ?? []).map((related) => [related.ref?.reference ?? '', copy] as const)));
  }

  /** The user's patients proposed for a letter: the same INS first, then the same birth date with a close name. */
  async function candidates(identity: LetterIdentity): Promise<Candidate[]> {
    const [byIns, born] = await Promise.all([
      identity.ins ? fhir.search<Patient>('Patient', { identifier: `${INS_SYSTEM}|${identity.ins}`, _count: '10' }).then(matches) : [],
      identity.birthDate ? fhir.search<Patient>('Patient', { birthdate: identity.birthDate, active: 'true', _count: '50' }).then(matches) : [],
    ]);
    const proposed: Candidate[] = byIns.map((patient) => ({ patient, by: 'ins' }));
    for (const patient of born) if (!byIns.some((other) => other.id === patient.id) && isCloseName(patient, identity)) proposed.push({ patient, by: 'traits' });
    names.learn(proposed.map((candidate) => candidate.patient));
    return proposed;
  }

  /**
   * Files a received letter into a patient's record (`$attach`), as the user saw it (If-Match: a change meanwhile is
   * refused). The node updates the practice's own letter, or makes the user's copy of another practice's.
   */
  async function attach(item: InboxItem, patient: Patient): Promise<void> {
    const letter = item.document;
    if (!letter?.id) return;
    const parameters: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: `Patient/${patient.id}` } }] };
    const filed = await fhir.operation<DocumentReference>(`DocumentReference/${encodeURIComponent(letter.id)}/$attach`, parameters, undefined, letter.meta?.versionId);
    names.learn([patient]);
    inbox.value = inbox.value.map((other) => (other.document?.id === letter.id ? { ...other, ...(filed.id === letter.id ? { document: filed } : {}), filed: { patient: { reference: `Patient/${patient.id}` }, document: filed } } : other));
  }

  function loadOutbox(): Promise<void> {
    return guarded(async () => {
      const me = useSessionStore().userReference;
      if (!me) return void (outbox.value = []);
      const { found: requests, documents: byId, trades } = await searchNamed<CommunicationRequest>('CommunicationRequest', { requester: me, _count: '50' }, OUTBOX_INCLUDES);
      if (requests.length === 0) return void (outbox.value = []);
      const [communications] = await Promise.all([fhir.search<Communication>('Communication', { 'based-on': requests.map((request) => `CommunicationRequest/${request.id}`).join(','), _count: '100' }).then(matches), trades]);
      outbox.value = requests.map((request) => {
        const own = communications.filter((communication) => communication.basedOn?.some((basis) => basis.reference === `CommunicationRequest/${request.id}`));
        return {
          request,
          document: byId.get(documentOf(request.payload) ?? ''),
          deliveries: (request.recipient ?? []).map((recipient) => {
            const delivery = own.find((communication) => communication.recipient?.some((target) => target.reference === recipient.reference));
            return { recipient, status: deliveryStatus(delivery), channel: channelOf(delivery), communicationId: delivery?.id, failure: failureOf(delivery) };
          }),
        };
      });
    });
  }

  /** The file as a Binary, then its DocumentReference about the patient. */
  async function upload({ file, patient, typeCode, typeLabel, description }: NewDocument): Promise<DocumentReference> {
    const binary = await fhir.uploadBinary(file);
    const session = useSessionStore();
    const author = session.userReference;
    const now = new Date().toISOString();
    const type: CodeableConcept = { coding: [{ system: LOINC, code: typeCode, display: typeLabel }], text: typeLabel };
    const document = await fhir.create<DocumentReference>({
      resourceType: 'DocumentReference',
      status: 'current',
      type,
      subject: { reference: `Patient/${patient.id}` },
      indexed: now,
      created: now,
      // Named as well: whoever reads the record (another node, a peer's software) sees who added it without a lookup.
      ...(author ? { author: [{ reference: author, display: session.user?.displayName }] } : {}),
      description: description || file.name.replace(/\.pdf$/i, ''),
      content: [{ attachment: { contentType: file.type || 'application/pdf', url: `Binary/${binary.id}`, title: file.name, size: file.size, creation: now } }],
    });
    names.learn([patient]);
    documents.value = [document, ...documents.value];
    return document;
  }

  /** The CommunicationRequest that sends the document to the recipients (each by the mailbox chosen), with the cover message. */
  function sendRequest(document: DocumentReference, recipients: readonly SendRecipient[], message = ''): CommunicationRequest {
    const me = useSessionStore().userReference;
    return {
      resourceType: 'CommunicationRequest',
      status: 'active',
      ...(document.subject ? { subject: document.subject } : {}),
      recipient: recipients.map(({ reference, display, mailbox }) => ({
        reference,
        ...(display ? { display } : {}),
        ...(mailbox ? { extension: [{ url: RECIPIENT_DETAILS_URL, valueContactPoint: { system: 'email', value: mailbox } }] } : {}),
      })),
      payload: [
        { contentReference: { reference: `DocumentReference/${document.id}`, ...(document.description ? { display: document.description } : {}) } },
        ...(message.trim() ? [{ contentString: message.trim() }] : []),
      ],
      ...(me ? { requester: { agent: { reference: me } }, sender: { reference: me } } : {}),
      authoredOn: new Date().toISOString(),
    };
  }

  /** How the node will reach each recipient, asked before sending (`$route`): what the send itself would decide. */
  async function route(document: DocumentReference, recipients: readonly SendRecipient[]): Promise<RecipientRoute[]> {
    const answer = await fhir.operation('CommunicationRequest/$route', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: sendRequest(document, recipients) }] });
    return (answer.parameter ?? []).filter((parameter) => parameter.name === 'recipient').map(routeOf);
  }

  /** Asks the node to deliver the document to the recipients, with the cover message. */
  async function send(document: DocumentReference, recipients: readonly SendRecipient[], message = ''): Promise<CommunicationRequest> {
    const request = await fhir.create<CommunicationRequest>(sendRequest(document, recipients, message));
    outbox.value = [{ request, document, deliveries: (request.recipient ?? []).map((recipient) => ({ recipient, status: 'pending' })) }, ...outbox.value];
    draftRecipients.value = [];
    return request;
  }

  /** Attempts a failed delivery again (`$retry`): the same recipient by the same channel; the others are untouched. */
  async function retry(delivery: Delivery): Promise<void> {
    if (!delivery.communicationId) return;
    const communication = await fhir.operation<Communication>(`Communication/${encodeURIComponent(delivery.communicationId)}/$retry`, { resourceType: 'Parameters' });
    outbox.value = outbox.value.map((item) => ({
      ...item,
      deliveries: item.deliveries.map((other) => (other.communicationId === communication.id ? { ...other, status: deliveryStatus(communication), failure: failureOf(communication) } : other)),
    }));
  }

  /** Marks a received message read (its `received` instant), once. */
  async function markRead(item: InboxItem): Promise<void> {
    if (item.communication.received) return;
    const saved = await fhir.update<Communication>({ ...item.communication, received: new Date().toISOString() });
    inbox.value = inbox.value.map((other) => (other === item ? { ...item, communication: saved } : other));
  }

  /** The PDF's bytes, for the viewer. */
  async function content(document: DocumentReference): Promise<ArrayBuffer> {
    const url = document.content[0]?.attachment.url ?? '';
    const id = /(?:^|\/)Binary\/([^/]+)$/.exec(url)?.[1];
    if (!id) throw new Error(`no Binary in ${url}`);
    return fhir.binaryContent(id);
  }

  return { documents, inbox, outbox, loading, error, draftRecipients, loadDocuments, loadInbox, loadOutbox, upload, route, send, retry, markRead, content, candidates, attach };
});
