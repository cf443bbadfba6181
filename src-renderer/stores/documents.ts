import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { fhir } from '../api';
import { matches, resourcesOf } from '../api/fhir-client';
import type { Bundle, CodeableConcept, Communication, CommunicationRequest, DocumentReference, Patient, Reference } from '../api/fhir-types';
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
  /** Per recipient reference: how its delivery stands. */
  /** Per recipient reference: how its delivery stands, and the channel's code (`internal`, `mssante`…) it goes by. */
  deliveries: Array<{ recipient: Reference; status: DeliveryStatus; channel?: string }>;
}

export interface InboxItem {
  communication: Communication;
  document?: DocumentReference;
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
  const draftRecipients = ref<Array<{ reference: string; display: string }>>([]);

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
      const { found, documents: byId, trades } = await searchNamed<Communication>('Communication', { recipient: me, _count: '50' }, INBOX_INCLUDES);
      await trades;
      inbox.value = found.map((communication) => ({ communication, document: byId.get(documentOf(communication.payload) ?? '') }));
    });
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
            return { recipient, status: deliveryStatus(delivery), channel: channelOf(delivery) };
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

  /** Asks the node to deliver the document to the recipients. */
  async function send(document: DocumentReference, recipients: Array<{ reference: string; display?: string }>): Promise<CommunicationRequest> {
    const me = useSessionStore().userReference;
    const request = await fhir.create<CommunicationRequest>({
      resourceType: 'CommunicationRequest',
      status: 'active',
      ...(document.subject ? { subject: document.subject } : {}),
      recipient: recipients.map(({ reference, display }) => ({ reference, ...(display ? { display } : {}) })),
      payload: [{ contentReference: { reference: `DocumentReference/${document.id}`, ...(document.description ? { display: document.description } : {}) } }],
      ...(me ? { requester: { agent: { reference: me } }, sender: { reference: me } } : {}),
      authoredOn: new Date().toISOString(),
    });
    outbox.value = [{ request, document, deliveries: (request.recipient ?? []).map((recipient) => ({ recipient, status: 'pending' })) }, ...outbox.value];
    draftRecipients.value = [];
    return request;
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

  return { documents, inbox, outbox, loading, error, draftRecipients, loadDocuments, loadInbox, loadOutbox, upload, send, markRead, content };
});
