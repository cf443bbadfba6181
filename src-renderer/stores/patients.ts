import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { fhir } from '../api';
import { FhirApiError, linkOf, matches, type SearchParams } from '../api/fhir-client';
import type { Appointment, Bundle, DocumentReference, Encounter, EpisodeOfCare, Patient, Reference, Resource } from '../api/fhir-types';
import { closeNames, insOf, INS_SYSTEM, reliabilityOf } from '../identity';
import { useNamesStore } from './names';
import { useSessionStore } from './session';

/**
 * The patients the user follows (the node shows only those: docs/access.md), the one open in the banner, and
 * their care pathway. Patients are never deleted: archiving is `active: false`.
 */

export { INS_SYSTEM, insOf } from '../identity';

/** The identity status the record carries (PROV, RECUP, VALI, QUAL), if any. */
export const identityStatusOf = (patient: Patient): string | undefined => reliabilityOf(patient).status;

/**
 * The lists leave out archived patients (`active: false`) unless asked, and only them: a Patient written without
 * `active` (most practice software) is followed. Each brings the general practitioners, whose names say whose patient.
 */
const LISTED = { 'active:not': 'false', _include: 'Patient:general-practitioner' };
const ANY_ACTIVE = { _include: 'Patient:general-practitioner' };

export type TimelineKind = 'encounter' | 'episode' | 'document' | 'appointment';

export interface TimelineItem {
  key: string;
  kind: TimelineKind;
  /** When it happened (or starts): what the timeline is ordered by, newest first. */
  date?: string;
  end?: string;
  title?: string;
  status: string;
  resource: Resource;
}

/** What the search box holds: a birth date, an identifier (INS/NIR, IPP) or a name. */
export function patientSearchParams(text: string): SearchParams {
  const value = text.trim();
  const french = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(value);
  if (french) return { birthdate: `${french[3]}-${french[2].padStart(2, '0')}-${french[1].padStart(2, '0')}` };
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return { birthdate: value };
  const digits = value.replace(/\s/g, '');
  if (/^\d{6,}[A-Za-z0-9]*$/.test(digits)) return { identifier: digits };
  return { name: value };
}

const PAGE_SIZE = 20;

export const usePatientsStore = defineStore('patients', () => {
  const names = useNamesStore();
  const list = shallowRef<Patient[]>([]);
  const listLoading = ref(false);
  const listError = ref<unknown>();
  const listQuery = ref('');
  const showArchived = ref(false);
  const hasMore = ref(false);
  let next: string | undefined;
  let inFlight: AbortController | undefined;

  const current = ref<Patient>();
  const currentError = ref<unknown>();
  const timeline = shallowRef<TimelineItem[]>([]);
  const timelineLoading = ref(false);
  const timelineError = ref<unknown>();

  async function loadList(): Promise<void> {
    inFlight?.abort();
    const controller = (inFlight = new AbortController());
    listLoading.value = true;
    const text = listQuery.value.trim();
    const params: SearchParams = {
      ...(text.length >= 2 ? patientSearchParams(text) : {}),
      ...(showArchived.value ? ANY_ACTIVE : LISTED),
      _count: String(PAGE_SIZE),
    };
    try {
      const bundle = await fhir.search<Patient>('Patient', params, controller.signal);
      if (controller.signal.aborted) return;
      names.learn(bundle.entry?.map((entry) => entry.resource) ?? []);
      list.value = matches(bundle);
      next = linkOf(bundle, 'next');
      hasMore.value = next !== undefined;
      listError.value = undefined;
    } catch (error) {
      if (controller.signal.aborted) return;
      listError.value = error;
    } finally {
      if (inFlight === controller) listLoading.value = false;
    }
  }

  async function loadMore(): Promise<void> {
    if (!next) return;
    const page = await fhir.page<Patient>(next);
    names.learn(page.entry?.map((entry) => entry.resource) ?? []);
    list.value = [...list.value, ...matches(page)];
    next = linkOf(page, 'next');
    hasMore.value = next !== undefined;
  }

  /** Patients for a picker (documents, appointments): no list state touched. */
  async function find(text: string, signal?: AbortSignal): Promise<Patient[]> {
    const bundle = await fhir.search<Patient>('Patient', { ...patientSearchParams(text), ...LISTED, _count: '10' }, signal);
    names.learn(bundle.entry?.map((entry) => entry.resource) ?? []);
    return matches(bundle);
  }

  async function open(id: string): Promise<void> {
    if (current.value?.id !== id) {
      current.value = undefined;
      timeline.value = [];
    }
    currentError.value = undefined;
    try {
      current.value = await fhir.read<Patient>('Patient', id);
    } catch (error) {
      currentError.value = error;
      return;
    }
    await loadTimeline(id);
  }

  /** The care pathway: `$everything` when the node has it, else one search per kind of event. */
  async function loadTimeline(id: string): Promise<void> {
    timelineLoading.value = true;
    timelineError.value = undefined;
    try {
      let resources: Resource[];
      try {
        resources = await everything(id);
      } catch (error) {
        if (!(error instanceof FhirApiError) || ![400, 404, 405, 501].includes(error.status)) throw error;
        resources = await separateSearches(id);
      }
      // The authors and participants by name: those $everything brought, then the others in one search per type.
      names.learn(resources);
      timeline.value = toTimeline(resources);
      void names.learnReferences(timeline.value.flatMap(peopleOf).map((reference) => reference.reference));
    } catch (error) {
      timelineError.value = error;
    } finally {
      timelineLoading.value = false;
    }
  }

  async function everything(id: string): Promise<Resource[]> {
    const bundle = await fhir.page<Resource>(`/fhir/Patient/${encodeURIComponent(id)}/$everything?_count=100`);
    return (bundle.entry ?? []).map((entry) => entry.resource).filter((resource): resource is Resource => resource !== undefined);
  }

  async function separateSearches(id: string): Promise<Resource[]> {
    const patient = `Patient/${id}`;
    const bundles = await Promise.all([
      fhir.search<Encounter>('Encounter', { patient, _count: '100' }),
      fhir.search<EpisodeOfCare>('EpisodeOfCare', { patient, _count: '100' }),
      fhir.search<DocumentReference>('DocumentReference', { patient, _count: '100' }),
      fhir.search<Appointment>('Appointment', { patient, _count: '100' }),
    ]);
    return bundles.flatMap((bundle: Bundle<Resource>) => matches(bundle));
  }

  /**
   * Before creating: the patient who already has this INS, and those born the same day under a close name (accents,
   * case, hyphens, birth or used name; identity.ts closeNames), archived ones included. One search by birth date,
   * compared here: a day's births are a few records even in a large practice.
   */
  async function likelyDuplicates(patient: Patient): Promise<{ sameIns?: Patient; similar: Patient[] }> {
    const ins = insOf(patient);
    const [byIns, byBirthDate] = await Promise.all([
      ins ? fhir.search<Patient>('Patient', { identifier: `${INS_SYSTEM}|${ins}`, _count: '1' }) : undefined,
      patient.birthDate ? fhir.search<Patient>('Patient', { birthdate: patient.birthDate, _count: '100' }) : undefined,
    ]);
    const sameIns = byIns ? matches(byIns)[0] : undefined;
    const similar = byBirthDate ? matches(byBirthDate).filter((candidate) => candidate.id !== sameIns?.id && closeNames(patient, candidate)) : [];
    return { sameIns, similar };
  }

  /** A new patient, followed by the user (their Practitioner, or their practice for a secretary). */
  async function create(patient: Patient): Promise<Patient> {
    const follower = useSessionStore().userReference;
    const created = await fhir.create<Patient>({ ...patient, active: true, generalPractitioner: patient.generalPractitioner ?? (follower ? [{ reference: follower }] : undefined) });
    list.value = [created, ...list.value];
    return created;
  }

  async function save(patient: Patient): Promise<Patient> {
    const saved = await fhir.update(patient);
    if (current.value?.id === saved.id) current.value = saved;
    list.value = list.value.map((item) => (item.id === saved.id ? saved : item));
    return saved;
  }

  /** Archives (or brings back) a patient: an update of `active`, never a delete. */
  async function setArchived(patient: Patient, archived: boolean): Promise<Patient> {
    const saved = await save({ ...patient, active: !archived });
    if (archived && !showArchived.value) list.value = list.value.filter((item) => item.id !== saved.id);
    return saved;
  }

  return { list, listLoading, listError, listQuery, showArchived, hasMore, current, currentError, timeline, timelineLoading, timelineError, loadList, loadMore, find, open, loadTimeline, likelyDuplicates, create, save, setArchived };
});

/** Who an event names besides the patient: an encounter's participants, an appointment's other actors, a document's authors. */
export function peopleOf(item: TimelineItem): Reference[] {
  const people =
    item.kind === 'encounter'
      ? (item.resource as Encounter).participant?.map((participant) => participant.individual)
      : item.kind === 'appointment'
        ? (item.resource as Appointment).participant.map((participant) => participant.actor)
        : item.kind === 'document'
          ? (item.resource as DocumentReference).author
          : undefined;
  return (people ?? []).filter((reference): reference is Reference => Boolean(reference?.reference || reference?.display) && !reference!.reference?.startsWith('Patient/'));
}

/** The events of a care pathway, newest first; other resources (`$everything` brings them all) are left out. */
export function toTimeline(resources: readonly Resource[]): TimelineItem[] {
  const items: TimelineItem[] = [];
  for (const resource of resources) {
    const key = `${resource.resourceType}/${resource.id}`;
    switch (resource.resourceType) {
      case 'Encounter': {
        const encounter = resource as Encounter;
        items.push({ key, kind: 'encounter', date: encounter.period?.start, end: encounter.period?.end, title: conceptText(encounter.type?.[0]) ?? conceptText(encounter.reason?.[0]), status: encounter.status, resource });
        break;
      }
      case 'EpisodeOfCare': {
        const episode = resource as EpisodeOfCare;
        items.push({ key, kind: 'episode', date: episode.period?.start, end: episode.period?.end, title: conceptText(episode.type?.[0]), status: episode.status, resource });
        break;
      }
      case 'DocumentReference': {
        const document = resource as DocumentReference;
        items.push({ key, kind: 'document', date: document.created ?? document.indexed, title: document.description ?? document.content[0]?.attachment.title ?? conceptText(document.type), status: document.status, resource });
        break;
      }
      case 'Appointment': {
        const appointment = resource as Appointment;
        items.push({ key, kind: 'appointment', date: appointment.start, end: appointment.end, title: appointment.description, status: appointment.status, resource });
        break;
      }
    }
  }
  const time = (item: TimelineItem) => (item.date ? Date.parse(item.date) || 0 : 0);
  return items.sort((a, b) => time(b) - time(a));
}

function conceptText(concept: { text?: string; coding?: Array<{ display?: string; code?: string }> } | undefined): string | undefined {
  return concept?.text ?? concept?.coding?.find((coding) => coding.display)?.display ?? concept?.coding?.[0]?.code;
}
