import { seedPatients, type PatientResource } from './patients';
import { prng } from './settings';

/**
 * A deterministic, realistically linked store of a French practice for the search benchmark: Practitioners and
 * Organizations (a few hundred per million resources), Patients (with INS-NIR identifiers, names, birth dates,
 * addresses, a general practitioner and a managing organization), then ten years of care in chronological order:
 * Encounters, each with its Observations (LOINC codes with UCUM units and plausible values), Appointments and
 * DocumentReferences (LOINC document types). Resources come out in the order a live node would have received
 * them, so `-_lastUpdated` (write order) roughly follows clinical time; ids are time-ordered like the uuidv7 the
 * server assigns, except the Patients', which keep the ids of `seedPatients` (as if imported).
 *
 * The same seed and size give the same resources in every run; the generator streams, so a million resources
 * never sit in memory at once.
 */

export type Resource = Record<string, unknown> & { resourceType: string; id: string };

/** Shares of the store by type, per million: 50k Patients, 200k Encounters, 600k Observations, 100k Appointments, 50k DocumentReferences. */
const SHARES = { Patient: 0.05, Encounter: 0.2, Observation: 0.6, Appointment: 0.1, DocumentReference: 0.05 } as const;
const PRACTITIONERS_PER_MILLION = 300;
const ORGANIZATIONS_PER_MILLION = 100;

/** Clinical time covered by the store: ten and a half years of activity. */
export const CARE_START = Date.UTC(2015, 0, 1);
export const CARE_END = Date.UTC(2025, 6, 1);
const DAY_MS = 86_400_000;

export const NIR_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
const RPPS_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';
const FINESS_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.2';
export const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const SNOMED = 'http://snomed.info/sct';

export interface Plan {
  total: number;
  practitioners: number;
  organizations: number;
  patients: number;
  encounters: number;
  observations: number;
  appointments: number;
  documents: number;
}

/** How many resources of each type make up a store of `total` resources. */
export function planStore(total: number): Plan {
  const practitioners = Math.max(5, Math.round((total * PRACTITIONERS_PER_MILLION) / 1e6));
  const organizations = Math.max(2, Math.round((total * ORGANIZATIONS_PER_MILLION) / 1e6));
  const encounters = Math.round(total * SHARES.Encounter);
  const observations = Math.round(total * SHARES.Observation);
  const appointments = Math.round(total * SHARES.Appointment);
  const documents = Math.round(total * SHARES.DocumentReference);
  // The directory comes out of the Patients' share, so the total is exact.
  const patients = total - practitioners - organizations - encounters - observations - appointments - documents;
  if (patients < 1) throw new Error(`A store of ${total} resources is too small`);
  return { total, practitioners, organizations, patients, encounters, observations, appointments, documents };
}


type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const digits = (random: Random, count: number) => Array.from({ length: count }, () => Math.floor(random() * 10)).join('');
const between = (random: Random, low: number, high: number) => low + random() * (high - low);
const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

/** Picks an item with probability proportional to its weight. */
function weighted<T extends { weight: number }>(items: readonly T[]): (random: Random) => T {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  let sum = 0;
  const cumulative = items.map((item) => (sum += item.weight / total));
  return (random) => {
    const draw = random();
    const index = cumulative.findIndex((bound) => draw < bound);
    return items[index < 0 ? items.length - 1 : index];
  };
}

/** A uuid shaped like uuidv7 (48-bit millisecond prefix, then random bits): time-ordered, like server-assigned ids. */
function timeOrderedId(random: Random, ms: number): string {
  const time = Math.floor(ms).toString(16).padStart(12, '0');
  const hex = Array.from({ length: 20 }, () => Math.floor(random() * 16).toString(16));
  hex[0] = '7';
  hex[4] = ((parseInt(hex[4], 16) & 0x3) | 0x8).toString(16);
  const rest = hex.join('');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-${rest.slice(0, 4)}-${rest.slice(4, 8)}-${rest.slice(8, 20)}`;
}

/** FHIR dateTime in Paris local time (CET/CEST approximated by the month), second precision. */
function dateTime(ms: number): string {
  const date = new Date(ms);
  const month = date.getUTCMonth();
  const offsetHours = month >= 3 && month <= 9 ? 2 : 1;
  const local = new Date(ms + offsetHours * 3_600_000).toISOString().slice(0, 19);
  return `${local}+0${offsetHours}:00`;
}
const dateOnly = (ms: number) => new Date(ms).toISOString().slice(0, 10);

// ---------------------------------------------------------------------------------------------------------------
// Reference data

/** Observation codes with a frequency weight, their UCUM unit and plausible values. */
export const OBSERVATION_CODES = [
  { code: '29463-7', display: 'Body weight', unit: 'kg', low: 45, high: 120, decimals: 1, weight: 14, category: 'vital-signs' },
  { code: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', low: 100, high: 170, decimals: 0, weight: 14, category: 'vital-signs' },
  { code: '8462-4', display: 'Diastolic blood pressure', unit: 'mm[Hg]', low: 55, high: 100, decimals: 0, weight: 14, category: 'vital-signs' },
  { code: '8867-4', display: 'Heart rate', unit: '/min', low: 50, high: 110, decimals: 0, weight: 10, category: 'vital-signs' },
  { code: '8310-5', display: 'Body temperature', unit: 'Cel', low: 36, high: 39.5, decimals: 1, weight: 5, category: 'vital-signs' },
  { code: '8302-2', display: 'Body height', unit: 'cm', low: 150, high: 195, decimals: 0, weight: 3, category: 'vital-signs' },
  { code: '39156-5', display: 'Body mass index (BMI) [Ratio]', unit: 'kg/m2', low: 18, high: 38, decimals: 1, weight: 4, category: 'vital-signs' },
  { code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry', unit: '%', low: 90, high: 100, decimals: 0, weight: 3, category: 'vital-signs' },
  { code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', unit: 'g/L', low: 0.7, high: 2.2, decimals: 2, weight: 4, category: 'laboratory' },
  { code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', unit: '%', low: 4.8, high: 10, decimals: 1, weight: 3, category: 'laboratory' },
  { code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', unit: 'g/L', low: 1.4, high: 3, decimals: 2, weight: 2, category: 'laboratory' },
  { code: '2085-9', display: 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', unit: 'g/L', low: 0.3, high: 0.9, decimals: 2, weight: 2, category: 'laboratory' },
  { code: '13457-7', display: 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation', unit: 'g/L', low: 0.7, high: 2.2, decimals: 2, weight: 2, category: 'laboratory' },
  { code: '2571-8', display: 'Triglyceride [Mass/volume] in Serum or Plasma', unit: 'g/L', low: 0.4, high: 3, decimals: 2, weight: 2, category: 'laboratory' },
  { code: '14682-9', display: 'Creatinine [Moles/volume] in Serum or Plasma', unit: 'umol/L', low: 45, high: 150, decimals: 0, weight: 3, category: 'laboratory' },
  { code: '62238-1', display: 'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)', unit: 'mL/min/{1.73_m2}', low: 30, high: 120, decimals: 0, weight: 2, category: 'laboratory' },
  { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/dL', low: 10, high: 17, decimals: 1, weight: 2, category: 'laboratory' },
  { code: '6690-2', display: 'Leukocytes [#/volume] in Blood by Automated count', unit: '10*9/L', low: 3.5, high: 12, decimals: 1, weight: 2, category: 'laboratory' },
  { code: '777-3', display: 'Platelets [#/volume] in Blood by Automated count', unit: '10*9/L', low: 140, high: 420, decimals: 0, weight: 2, category: 'laboratory' },
  { code: '2951-2', display: 'Sodium [Moles/volume] in Serum or Plasma', unit: 'mmol/L', low: 132, high: 146, decimals: 0, weight: 2, category: 'laboratory' },
  { code: '2823-3', display: 'Potassium [Moles/volume] in Serum or Plasma', unit: 'mmol/L', low: 3.3, high: 5.4, decimals: 1, weight: 2, category: 'laboratory' },
  { code: '1742-6', display: 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma', unit: 'U/L', low: 8, high: 80, decimals: 0, weight: 1, category: 'laboratory' },
  { code: '1920-8', display: 'Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma', unit: 'U/L', low: 8, high: 70, decimals: 0, weight: 1, category: 'laboratory' },
  { code: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma', unit: 'm[IU]/L', low: 0.3, high: 6, decimals: 2, weight: 1, category: 'laboratory' },
  { code: '1988-5', display: 'C reactive protein [Mass/volume] in Serum or Plasma', unit: 'mg/L', low: 0.5, high: 80, decimals: 1, weight: 1, category: 'laboratory' },
  { code: '6301-6', display: 'INR in Platelet poor plasma by Coagulation assay', unit: '{INR}', low: 0.9, high: 3.5, decimals: 1, weight: 0.5, category: 'laboratory' },
  { code: '2857-1', display: 'Prostate specific Ag [Mass/volume] in Serum or Plasma', unit: 'ng/mL', low: 0.2, high: 8, decimals: 2, weight: 0.3, category: 'laboratory' },
  { code: '1989-3', display: '25-Hydroxyvitamin D3 [Mass/volume] in Serum or Plasma', unit: 'ng/mL', low: 8, high: 60, decimals: 0, weight: 0.2, category: 'laboratory' },
] as const;
const observationCode = weighted(OBSERVATION_CODES);

const ENCOUNTER_TYPES = [
  { code: '11429006', display: 'Consultation', weight: 60 },
  { code: '390906007', display: 'Follow-up encounter', weight: 20 },
  { code: '185349003', display: 'Encounter for check up', weight: 10 },
  { code: '439708006', display: 'Home visit', weight: 6 },
  { code: '185317003', display: 'Telephone encounter', weight: 4 },
] as const;
const encounterType = weighted(ENCOUNTER_TYPES);
const ENCOUNTER_CLASSES: Record<string, { code: string; display: string }> = {
  '439708006': { code: 'HH', display: 'home health' },
  '185317003': { code: 'VR', display: 'virtual' },
};
const AMBULATORY = { code: 'AMB', display: 'ambulatory' };
const encounterStatus = weighted([
  { status: 'finished', weight: 92 },
  { status: 'cancelled', weight: 4 },
  { status: 'entered-in-error', weight: 0.5 },
  { status: 'in-progress', weight: 0.5 },
  { status: 'onleave', weight: 0.5 },
  { status: 'arrived', weight: 0.5 },
  { status: 'planned', weight: 2 },
]);

export const DOCUMENT_TYPES = [
  { code: '11488-4', display: 'Consult note', weight: 30 },
  { code: '11502-2', display: 'Laboratory report', weight: 25 },
  { code: '57133-1', display: 'Referral note', weight: 15 },
  { code: '18748-4', display: 'Diagnostic imaging study', weight: 12 },
  { code: '18842-5', display: 'Discharge summary', weight: 8 },
  { code: '57833-6', display: 'Prescription for medication', weight: 10 },
] as const;
const documentType = weighted(DOCUMENT_TYPES);

const APPOINTMENT_TYPES = [
  { code: 'ROUTINE', display: 'Routine appointment - default if not valued' },
  { code: 'FOLLOWUP', display: 'A follow up visit from a previous appointment' },
  { code: 'CHECKUP', display: 'A routine check-up, such as an annual physical' },
  { code: 'WALKIN', display: 'A previously unscheduled walk-in visit' },
] as const;

const PRACTITIONER_FAMILY = ['Lemoine', 'Carpentier', 'Barbier', 'Renaud', 'Schmitt', 'Colin', 'Vidal', 'Caron', 'Picard', 'Roger', 'Fabre', 'Aubert', 'Lemaire', 'Marchand', 'Dumas', 'Brun', 'Blanchard', 'Meunier', 'Leclerc', 'Hubert'];
const PRACTITIONER_GIVEN = ['Claire', 'Julien', 'Anne', 'Marc', 'Sophie', 'Paul', 'Émilie', 'Luc', 'Agnès', 'Yves', 'Hélène', 'Bruno', 'Cécile', 'Denis', 'Élodie'];
const SPECIALTIES = [
  { code: 'SM26', display: 'Qualifié en médecine générale' },
  { code: 'SM04', display: 'Cardiologie et maladies vasculaires' },
  { code: 'SM15', display: 'Endocrinologie et métabolisme' },
  { code: 'SM31', display: 'Pédiatrie' },
  { code: 'SM13', display: 'Dermatologie et vénéréologie' },
] as const;
const CITIES = [
  ['Paris', '75011'], ['Lyon', '69003'], ['Marseille', '13008'], ['Toulouse', '31000'], ['Nantes', '44000'], ['Bordeaux', '33000'],
  ['Lille', '59000'], ['Rennes', '35000'], ['Strasbourg', '67000'], ['Montpellier', '34000'], ['Grenoble', '38000'], ['Dijon', '21000'],
] as const;

// ---------------------------------------------------------------------------------------------------------------
// The store

export interface StoreIndex {
  plan: Plan;
  patients: Array<{ id: string; nir: string; family: string }>;
  practitioners: string[];
  organizations: string[];
}

/**
 * The store's resources, in write order, and (filled as they are generated) what the benchmark's queries need:
 * the Patients' ids, NIRs and family names, the Practitioners' and Organizations' ids.
 */
export function generateStore(total: number, seed = 11): { index: StoreIndex; resources: () => Generator<Resource> } {
  const plan = planStore(total);
  const index: StoreIndex = { plan, patients: [], practitioners: [], organizations: [] };
  return { index, resources: () => resources(plan, index, seed) };
}

function* resources(plan: Plan, index: StoreIndex, seed: number): Generator<Resource> {
  const random = prng(seed);
  // Ids are minted along a clock that starts before the first clinical event and advances with each write.
  let clock = CARE_START - 30 * DAY_MS;
  const id = (at: number) => {
    clock = Math.max(clock + 1, at);
    return timeOrderedId(random, clock);
  };
  index.patients.length = 0;
  index.practitioners.length = 0;
  index.organizations.length = 0;

  for (let n = 0; n < plan.organizations; n++) {
    const organization = organizationResource(random, id(clock), n);
    index.organizations.push(organization.id);
    yield organization;
  }
  for (let n = 0; n < plan.practitioners; n++) {
    const practitioner = practitionerResource(random, id(clock), n);
    index.practitioners.push(practitioner.id);
    yield practitioner;
  }
  // Each Practitioner works for one Organization (a practice, a centre).
  const employer = (practitioner: string) => index.organizations[index.practitioners.indexOf(practitioner) % index.organizations.length];
  const employers = new Map(index.practitioners.map((practitioner) => [practitioner, employer(practitioner)]));

  const doctors = new Map<string, string>();
  for (const patient of seedPatients(plan.patients, seed + 1)) {
    const gp = pick(random, index.practitioners);
    doctors.set(patient.id, gp);
    const identifiers = patient.identifier as Array<{ system: string; value: string }>;
    const names = patient.name as Array<{ family: string }>;
    index.patients.push({ id: patient.id, nir: identifiers.find((identifier) => identifier.system === NIR_SYSTEM)!.value, family: names[0].family });
    yield {
      ...(patient as PatientResource & { id: string }),
      generalPractitioner: [{ reference: `Practitioner/${gp}` }],
      managingOrganization: { reference: `Organization/${employers.get(gp)}` },
    };
  }

  // Care, chronologically. Patients are not equally followed: a third of them account for about two thirds of
  // the encounters (chronic patients), the rest come now and then.
  const patientOf = () => {
    const draw = random();
    const share = draw < 0.65 ? random() / 3 : random();
    return index.patients[Math.floor(share * index.patients.length)];
  };
  const span = CARE_END - CARE_START;
  let observations = 0;
  let appointments = 0;
  let documents = 0;
  for (let n = 0; n < plan.encounters; n++) {
    const at = CARE_START + ((n + random()) / plan.encounters) * span;
    const patient = patientOf();
    const practitioner = random() < 0.8 ? doctors.get(patient.id)! : pick(random, index.practitioners);
    const encounter = encounterResource(random, id(at), patient.id, practitioner, employers.get(practitioner)!, at);
    yield encounter;
    // Observations, appointments and documents follow the encounters in their planned proportions.
    const observationsDue = Math.round(((n + 1) * plan.observations) / plan.encounters);
    const finished = encounter.status === 'finished';
    for (; observations < observationsDue; observations++) {
      yield observationResource(random, id(at), patient.id, finished ? encounter.id : undefined, practitioner, at + random() * 900_000);
    }
    const appointmentsDue = Math.round(((n + 1) * plan.appointments) / plan.encounters);
    for (; appointments < appointmentsDue; appointments++) {
      // Booked ahead: a follow-up of this patient, or another patient's, days to months later.
      const who = random() < 0.7 ? patient.id : patientOf().id;
      yield appointmentResource(random, id(at), who, random() < 0.8 ? doctors.get(who)! : practitioner, at + between(random, 1, 90) * DAY_MS, at);
    }
    const documentsDue = Math.round(((n + 1) * plan.documents) / plan.encounters);
    for (; documents < documentsDue; documents++) {
      yield documentResource(random, id(at), patient.id, finished ? encounter.id : undefined, practitioner, at + random() * 3 * DAY_MS);
    }
  }
}

function organizationResource(random: Random, id: string, n: number): Resource {
  const [city, postalCode] = pick(random, CITIES);
  const kind = n % 5 === 0 ? 'Centre de santé' : n % 5 === 1 ? 'Maison de santé pluriprofessionnelle' : 'Cabinet médical';
  return {
    resourceType: 'Organization',
    id,
    identifier: [{ system: FINESS_SYSTEM, value: `${postalCode.slice(0, 2)}0${digits(random, 6)}` }],
    active: true,
    type: [{ coding: [{ system: 'http://hl7.org/fhir/organization-type', code: 'prov', display: 'Healthcare Provider' }] }],
    name: `${kind} ${pick(random, ['des Tilleuls', 'du Centre', 'de la Gare', 'Pasteur', 'Jean Moulin', 'des Lilas', 'Saint-Michel'])} ${city}`,
    telecom: [{ system: 'phone', value: `+33 ${1 + Math.floor(random() * 5)} ${digits(random, 2)} ${digits(random, 2)} ${digits(random, 2)} ${digits(random, 2)}`, use: 'work' }],
    address: [{ use: 'work', line: [`${1 + Math.floor(random() * 80)} avenue de la Libération`], city, postalCode, country: 'FR' }],
  };
}

function practitionerResource(random: Random, id: string, n: number): Resource {
  const specialty = n % 4 === 0 ? pick(random, SPECIALTIES) : SPECIALTIES[0];
  const given = pick(random, PRACTITIONER_GIVEN);
  const family = pick(random, PRACTITIONER_FAMILY);
  return {
    resourceType: 'Practitioner',
    id,
    identifier: [{ system: RPPS_SYSTEM, value: `10${digits(random, 9)}` }],
    active: true,
    name: [{ use: 'official', family: family.toUpperCase(), given: [given], prefix: ['Dr'] }],
    telecom: [{ system: 'email', value: `${id.slice(-6)}@medecin.mssante.fr`, use: 'work' }],
    gender: random() < 0.5 ? 'female' : 'male',
    qualification: [{ code: { coding: [{ system: 'urn:oid:1.2.250.1.213.2.28', code: specialty.code, display: specialty.display }] } }],
  };
}

function encounterResource(random: Random, id: string, patient: string, practitioner: string, organization: string, at: number) {
  const type = encounterType(random);
  const status = encounterStatus(random).status;
  const minutes = type.code === '185317003' ? 10 : 15 + Math.floor(random() * 30);
  const klass = ENCOUNTER_CLASSES[type.code] ?? AMBULATORY;
  return {
    resourceType: 'Encounter',
    id,
    status,
    class: { system: 'http://hl7.org/fhir/v3/ActCode', code: klass.code, display: klass.display },
    type: [{ coding: [{ system: SNOMED, code: type.code, display: type.display }], text: type.display }],
    subject: { reference: `Patient/${patient}` },
    participant: [
      {
        type: [{ coding: [{ system: 'http://hl7.org/fhir/v3/ParticipationType', code: 'PPRF', display: 'primary performer' }] }],
        individual: { reference: `Practitioner/${practitioner}` },
      },
    ],
    period: status === 'planned' || status === 'cancelled' ? { start: dateTime(at) } : { start: dateTime(at), end: dateTime(at + minutes * 60_000) },
    serviceProvider: { reference: `Organization/${organization}` },
  } satisfies Resource;
}

function observationResource(random: Random, id: string, patient: string, encounter: string | undefined, practitioner: string, at: number): Resource {
  const code = observationCode(random);
  return {
    resourceType: 'Observation',
    id,
    status: random() < 0.98 ? 'final' : 'amended',
    category: [
      {
        coding: [{ system: 'http://hl7.org/fhir/observation-category', code: code.category, display: code.category === 'laboratory' ? 'Laboratory' : 'Vital Signs' }],
      },
    ],
    code: { coding: [{ system: LOINC, code: code.code, display: code.display }], text: code.display },
    subject: { reference: `Patient/${patient}` },
    ...(encounter ? { context: { reference: `Encounter/${encounter}` } } : {}),
    effectiveDateTime: dateTime(at),
    issued: new Date(at + 3_600_000).toISOString(),
    performer: [{ reference: `Practitioner/${practitioner}` }],
    valueQuantity: { value: round(between(random, code.low, code.high), code.decimals), unit: code.unit, system: UCUM, code: code.unit },
  };
}

function appointmentResource(random: Random, id: string, patient: string, practitioner: string, start: number, booked: number): Resource {
  const slot = Math.floor(start / 900_000) * 900_000;
  const past = start < CARE_END;
  const status = !past ? 'booked' : random() < 0.85 ? 'fulfilled' : random() < 0.6 ? 'cancelled' : 'noshow';
  const type = pick(random, APPOINTMENT_TYPES);
  return {
    resourceType: 'Appointment',
    id,
    status,
    serviceType: [{ coding: [{ system: 'http://hl7.org/fhir/service-type', code: '124', display: 'General Practice' }] }],
    appointmentType: { coding: [{ system: 'http://hl7.org/fhir/v2/0276', code: type.code, display: type.display }] },
    description: type.code === 'CHECKUP' ? 'Bilan annuel' : 'Consultation',
    start: new Date(slot).toISOString(),
    end: new Date(slot + (random() < 0.8 ? 15 : 30) * 60_000).toISOString(),
    created: dateOnly(booked),
    participant: [
      { actor: { reference: `Patient/${patient}` }, required: 'required', status: 'accepted' },
      { actor: { reference: `Practitioner/${practitioner}` }, required: 'required', status: 'accepted' },
    ],
  };
}

function documentResource(random: Random, id: string, patient: string, encounter: string | undefined, practitioner: string, at: number): Resource {
  const type = documentType(random);
  return {
    resourceType: 'DocumentReference',
    id,
    status: random() < 0.97 ? 'current' : 'superseded',
    type: { coding: [{ system: LOINC, code: type.code, display: type.display }] },
    class: { coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '10', display: 'Compte rendu' }] },
    subject: { reference: `Patient/${patient}` },
    created: dateTime(at),
    indexed: new Date(at + 60_000).toISOString(),
    author: [{ reference: `Practitioner/${practitioner}` }],
    description: type.display,
    content: [
      {
        attachment: { contentType: 'application/pdf', language: 'fr-FR', url: `Binary/${id}`, size: 20_000 + Math.floor(random() * 400_000), title: `${type.display}.pdf` },
        format: { system: 'urn:oid:1.3.6.1.4.1.19376.1.2.3', code: 'urn:ihe:iti:xds:2017:mimeTypeSufficient', display: 'mimeType Sufficient' },
      },
    ],
    ...(encounter ? { context: { encounter: { reference: `Encounter/${encounter}` } } } : {}),
  };
}
