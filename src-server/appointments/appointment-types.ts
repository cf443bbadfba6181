import { unprocessable } from '../fhir/outcome';

/**
 * A practice's appointment types (docs/appointments.md): one CodeSystem per practice, at a stable url, whose concepts
 * carry a default duration and a colour. Until an admin saves them, a practice's types are the default set below
 * (never stored on its own: two offices' nodes writing it at once would make a sync conflict of nothing).
 */

export const APPOINTMENT_TYPES_URL = 'http://liaison.health/fhir/CodeSystem/appointment-type/';
export const TYPE_DURATION_URL = 'http://liaison.health/fhir/StructureDefinition/appointment-type-duration';
export const TYPE_COLOUR_URL = 'http://liaison.health/fhir/StructureDefinition/appointment-type-colour';
/** The concept whose duration is the default slot length. */
export const CONSULTATION = 'consultation';

type Json = Readonly<Record<string, unknown>>;

export interface AppointmentType {
  code: string;
  display: string;
  minutes: number;
  colour: string;
}

export const DEFAULT_APPOINTMENT_TYPES: readonly AppointmentType[] = [
  { code: CONSULTATION, display: 'Consultation', minutes: 15, colour: '#2f6fb3' },
  { code: 'premiere-consultation', display: 'Première consultation', minutes: 30, colour: '#7b4fb3' },
  { code: 'visite-domicile', display: 'Visite à domicile', minutes: 30, colour: '#2e8b57' },
  { code: 'teleconsultation', display: 'Téléconsultation', minutes: 15, colour: '#d08a1e' },
  { code: 'vaccination', display: 'Vaccination', minutes: 10, colour: '#c0392b' },
];

export const appointmentTypesId = (practiceId: string) => `appointment-type-${practiceId}`;
export const appointmentTypesUrl = (practiceId: string) => `${APPOINTMENT_TYPES_URL}${practiceId}`;

/** The practice a CodeSystem of appointment types is for, by its url; undefined for any other CodeSystem. */
export function practiceOfTypes(codeSystem: Json): string | undefined {
  const url = codeSystem.url;
  return typeof url === 'string' && url.startsWith(APPOINTMENT_TYPES_URL) ? url.slice(APPOINTMENT_TYPES_URL.length) : undefined;
}

/** The CodeSystem of a practice's types, as stored and served. */
export function appointmentTypesResource(practiceId: string, types: readonly AppointmentType[]): Record<string, unknown> {
  return {
    resourceType: 'CodeSystem',
    id: appointmentTypesId(practiceId),
    url: appointmentTypesUrl(practiceId),
    status: 'active',
    content: 'complete',
    name: 'AppointmentTypes',
    title: 'Types de rendez-vous',
    concept: types.map((type) => ({
      code: type.code,
      display: type.display,
      extension: [
        { url: TYPE_DURATION_URL, valueDuration: { value: type.minutes, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' } },
        { url: TYPE_COLOUR_URL, valueString: type.colour },
      ],
    })),
  };
}

/** The types of a practice's CodeSystem, checked (422 `appointment-types-invalid`): what a write must hold. */
export function appointmentTypesOf(codeSystem: Json, id: string): AppointmentType[] {
  const practice = practiceOfTypes(codeSystem) ?? '';
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(practice)) throw invalid(`'${String(codeSystem.url)}' does not end with a practice's id`, 'CodeSystem.url');
  // One per practice, at an id of its own: written with PUT, so two nodes' edits are versions of one resource.
  if (id !== appointmentTypesId(practice)) throw invalid(`a practice's appointment types are written with PUT CodeSystem/${appointmentTypesId(practice)}`, 'CodeSystem.id');
  const concepts = Array.isArray(codeSystem.concept) ? (codeSystem.concept as Json[]) : [];
  const codes = new Set<string>();
  return concepts.map((concept, index) => {
    const where = `CodeSystem.concept[${index}]`;
    const code = concept.code;
    if (typeof code !== 'string' || code === '' || codes.has(code)) throw invalid(`each concept needs a code of its own`, where);
    codes.add(code);
    const extensions = Array.isArray(concept.extension) ? (concept.extension as Json[]) : [];
    const duration = extensions.find((extension) => extension.url === TYPE_DURATION_URL)?.valueDuration as Json | undefined;
    const minutes = duration?.value;
    if (duration?.code !== 'min' || typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 5 || minutes > 480) {
      throw invalid(`'${code}' needs its duration: a valueDuration in whole minutes (code min) from 5 to 480`, where);
    }
    const colour = extensions.find((extension) => extension.url === TYPE_COLOUR_URL)?.valueString;
    if (typeof colour !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(colour)) throw invalid(`'${code}' needs its colour: a valueString #rrggbb`, where);
    return { code, display: typeof concept.display === 'string' ? concept.display : code, minutes, colour: colour.toLowerCase() };
  });
}

const invalid = (message: string, expression: string) => unprocessable('appointment-types-invalid', `Appointment types: ${message}`, expression);
