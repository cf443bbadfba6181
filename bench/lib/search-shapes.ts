import { CARE_END, CARE_START, DOCUMENT_TYPES, LOINC, NIR_SYSTEM, OBSERVATION_CODES, type StoreIndex } from './clinical';
import { prng } from './settings';

/**
 * The query shapes of the search benchmark, each a search a practice runs often, with values drawn from the
 * generated store (lib/clinical.ts) by a deterministic random sequence per shape: the engine and any alternative
 * measured against it see the same queries in the same order.
 */

export const TARGETS = { ingestPerSecond: 5000, simpleMs: 10, chainMs: 50 };

export interface Shape {
  /** Figure name: `search.<kind>.<what>`. */
  name: string;
  resourceType: string;
  targetMs: number;
  /** One query's filters, from the shape's random sequence. */
  query: (random: () => number) => Record<string, string>;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);
const within = (random: () => number, from: number, to: number) => from + random() * (to - from);
const pickFrom = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

export function searchShapes(store: StoreIndex): Shape[] {
  const patient = (random: () => number) => pickFrom(random, store.patients);
  const { simpleMs, chainMs } = TARGETS;
  return [
    // Tokens: every LOINC code of the store as often as any other (rare ones included), a Patient by NIR,
    // Encounters by status (finished is 92% of them, in-progress 0.5%), documents by LOINC type.
    { name: 'search.token.observation-code', resourceType: 'Observation', targetMs: simpleMs, query: (r) => ({ code: `${LOINC}|${pickFrom(r, OBSERVATION_CODES).code}` }) },
    { name: 'search.token.patient-identifier', resourceType: 'Patient', targetMs: simpleMs, query: (r) => ({ identifier: `${NIR_SYSTEM}|${patient(r).nir}` }) },
    { name: 'search.token.encounter-status', resourceType: 'Encounter', targetMs: simpleMs, query: (r) => ({ status: pickFrom(r, ['finished', 'finished', 'cancelled', 'planned', 'in-progress']) }) },
    { name: 'search.token.documentreference-type', resourceType: 'DocumentReference', targetMs: simpleMs, query: (r) => ({ type: `${LOINC}|${pickFrom(r, DOCUMENT_TYPES).code}` }) },
    // References: a patient's record (a third of the patients have none of a given type: they found nothing).
    { name: 'search.reference.observation-subject', resourceType: 'Observation', targetMs: simpleMs, query: (r) => ({ subject: `Patient/${patient(r).id}` }) },
    { name: 'search.reference.encounter-subject', resourceType: 'Encounter', targetMs: simpleMs, query: (r) => ({ subject: `Patient/${patient(r).id}` }) },
    { name: 'search.reference.appointment-actor', resourceType: 'Appointment', targetMs: simpleMs, query: (r) => ({ actor: `Patient/${patient(r).id}` }) },
    // Dates: recent results, a month of encounters, old appointments.
    { name: 'search.date.observation-date-ge', resourceType: 'Observation', targetMs: simpleMs, query: (r) => ({ date: `ge${day(within(r, Date.UTC(2023, 0, 1), Date.UTC(2025, 5, 1)))}` }) },
    { name: 'search.date.encounter-date-month', resourceType: 'Encounter', targetMs: simpleMs, query: (r) => ({ date: month(within(r, CARE_START, CARE_END)) }) },
    { name: 'search.date.appointment-date-lt', resourceType: 'Appointment', targetMs: simpleMs, query: (r) => ({ date: `lt${day(within(r, Date.UTC(2016, 0, 1), Date.UTC(2022, 0, 1)))}` }) },
    // Combined: a patient's results for one code, a practitioner's appointments from a day on (the calendar).
    { name: 'search.combined.observation-subject-code', resourceType: 'Observation', targetMs: simpleMs, query: (r) => ({ subject: `Patient/${patient(r).id}`, code: `${LOINC}|${pickFrom(r, OBSERVATION_CODES).code}` }) },
    { name: 'search.combined.appointment-practitioner-date', resourceType: 'Appointment', targetMs: simpleMs, query: (r) => ({ practitioner: `Practitioner/${pickFrom(r, store.practitioners)}`, date: `ge${day(within(r, CARE_START, CARE_END))}` }) },
    // Chains: one level (Observation → Patient), two levels (Observation → Encounter → Patient).
    { name: 'search.chain.observation-subject-name', resourceType: 'Observation', targetMs: chainMs, query: (r) => ({ 'subject:Patient.name': namePrefix(r, patient(r).family) }) },
    { name: 'search.chain.observation-subject-identifier', resourceType: 'Observation', targetMs: chainMs, query: (r) => ({ 'subject:Patient.identifier': `${NIR_SYSTEM}|${patient(r).nir}` }) },
    { name: 'search.chain2.observation-encounter-subject-identifier', resourceType: 'Observation', targetMs: chainMs, query: (r) => ({ 'encounter.subject:Patient.identifier': `${NIR_SYSTEM}|${patient(r).nir}` }) },
  ];
}

/** A family name or its beginning (3 letters at least), as typed in a search box. */
function namePrefix(random: () => number, family: string): string {
  const length = 3 + Math.floor(random() * (family.length - 2));
  return family.slice(0, length).toLowerCase();
}

/** The shape's query sequence: the same for every run with the same seed. */
export function querySequence(shape: Shape, shapeIndex: number, seed: number): () => Record<string, string> {
  const random = prng(seed * 1000 + shapeIndex);
  return () => shape.query(random);
}

export interface Percentiles {
  p50: number;
  p95: number;
  max: number;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (share: number) => round2(sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]);
  return { p50: at(0.5), p95: at(0.95), max: round2(sorted[sorted.length - 1]) };
}
