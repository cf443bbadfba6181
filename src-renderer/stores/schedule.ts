import { defineStore } from 'pinia';
import { ref } from 'vue';
import { fhir, type Availability, availabilityOf } from '../api';
import { resourcesOf } from '../api/fhir-client';
import type { CodeSystem, Extension, Resource } from '../api/fhir-types';
import { appointmentTypesResource } from '../../src-server/appointments/appointment-types';
import { typesOf as appointmentTypesOf } from '../agenda/appointment-look';

/**
 * The practice's schedule in Réglages (docs/appointments.md): the appointment types (name, duration, colour), and
 * each practitioner's opening hours per weekday with their absences, edited as forms and written as the node's
 * CodeSystem and Schedule extension. Only an admin of the practice may save them (the node refuses others: 403).
 */

export const HOURS_URL = 'http://liaison.health/fhir/StructureDefinition/schedule-hours';
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface TypeRow {
  code: string;
  display: string;
  minutes: number;
  colour: string;
}

export interface Period {
  from: string;
  to: string;
}

export interface Absence {
  description: string;
  /** Local dates, both included. */
  from: string;
  to: string;
}

export interface HoursForm {
  week: Record<Weekday, Period[]>;
  absences: Absence[];
  /** Empty: the practice's consultation duration. */
  slotMinutes: string;
}

interface Schedule extends Resource {
  resourceType: 'Schedule';
  actor: Array<{ reference?: string }>;
  extension?: Extension[];
}

type Part = Extension & { extension?: Part[] };

/** A code for a new type, from its name: "Suivi grossesse" → "suivi-grossesse". */
export function codeOf(display: string, taken: readonly string[]): string {
  const base = display.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'type';
  let code = base;
  for (let n = 2; taken.includes(code); n++) code = `${base}-${n}`;
  return code;
}

/** The types as Réglages edits them: a type without a duration or a colour gets the form's defaults. */
export function typesOf(codeSystem: CodeSystem): TypeRow[] {
  return appointmentTypesOf(codeSystem).map(({ code, display, minutes, colour }) => ({ code, display, minutes: minutes ?? 15, colour: colour ?? '#2f6fb3' }));
}

/** The practice's CodeSystem of types as the node stores it (its one builder), keeping the version read for If-Match. */
function typesResource(practice: string, rows: readonly TypeRow[], previous: CodeSystem | undefined): CodeSystem {
  return { ...(previous?.meta ? { meta: previous.meta } : {}), ...appointmentTypesResource(practice, rows) } as unknown as CodeSystem;
}

const hhmm = (time: unknown) => (typeof time === 'string' ? time.slice(0, 5) : '');
const parts = (extension: Part | undefined, url: string) => (extension?.extension ?? []).filter((part) => part.url === url);
const value = (extension: Part | undefined, url: string, key: string) => (parts(extension, url)[0] as unknown as Record<string, unknown> | undefined)?.[key];

export function emptyHours(): HoursForm {
  return { week: Object.fromEntries(WEEKDAYS.map((day) => [day, []])) as unknown as Record<Weekday, Period[]>, absences: [], slotMinutes: '' };
}

/** The form of a Schedule's hours extension (none: closed every day). */
export function hoursOf(schedule: Schedule | undefined): HoursForm {
  const form = emptyHours();
  const hours = schedule?.extension?.find((extension) => extension.url === HOURS_URL) as Part | undefined;
  for (const time of parts(hours, 'availableTime')) {
    const period = value(time, 'allDay', 'valueBoolean') === true ? { from: '00:00', to: '23:59' } : { from: hhmm(value(time, 'availableStartTime', 'valueTime')), to: hhmm(value(time, 'availableEndTime', 'valueTime')) };
    for (const day of parts(time, 'daysOfWeek')) if (WEEKDAYS.includes(day.valueCode as Weekday)) form.week[day.valueCode as Weekday].push({ ...period });
  }
  for (const day of WEEKDAYS) form.week[day].sort((a, b) => a.from.localeCompare(b.from));
  form.absences = parts(hours, 'notAvailable').map((absence) => {
    const during = (value(absence, 'during', 'valuePeriod') ?? {}) as { start?: string; end?: string };
    return { description: String(value(absence, 'description', 'valueString') ?? ''), from: (during.start ?? '').slice(0, 10), to: (during.end ?? during.start ?? '').slice(0, 10) };
  });
  const minutes = value(hours, 'slotMinutes', 'valuePositiveInt');
  form.slotMinutes = typeof minutes === 'number' ? String(minutes) : '';
  return form;
}

/** The hours extension of a form: days of the same times together, as STU3's availableTime groups them. */
export function hoursExtension(form: HoursForm, previous: Schedule | undefined): Part {
  const byTimes = new Map<string, Weekday[]>();
  for (const day of WEEKDAYS) for (const period of form.week[day]) byTimes.set(`${period.from}|${period.to}`, [...(byTimes.get(`${period.from}|${period.to}`) ?? []), day]);
  const kept = parts(previous?.extension?.find((extension) => extension.url === HOURS_URL) as Part | undefined, 'timeZone');
  return {
    url: HOURS_URL,
    extension: [
      ...kept,
      ...(form.slotMinutes.trim() ? [{ url: 'slotMinutes', valuePositiveInt: Number(form.slotMinutes) }] : []),
      ...[...byTimes].map(([times, days]) => {
        const [from, to] = times.split('|');
        return { url: 'availableTime', extension: [...days.map((day) => ({ url: 'daysOfWeek', valueCode: day })), { url: 'availableStartTime', valueTime: `${from}:00` }, { url: 'availableEndTime', valueTime: `${to}:00` }] };
      }),
      ...form.absences.map((absence) => ({
        url: 'notAvailable',
        extension: [{ url: 'description', valueString: absence.description.trim() }, { url: 'during', valuePeriod: { start: absence.from, end: absence.to || absence.from } }],
      })),
    ] as Part[],
  };
}

export const useScheduleStore = defineStore('schedule', () => {
  const types = ref<TypeRow[]>([]);
  const typesState = ref<Availability>('loading');
  const typesError = ref<unknown>();
  let savedTypes: CodeSystem | undefined;

  async function loadTypes(practice: string): Promise<void> {
    try {
      const codeSystem = await fhir.operation<CodeSystem>(`CodeSystem/$appointment-types?practice=${encodeURIComponent(practice)}`);
      savedTypes = codeSystem.id ? codeSystem : undefined;
      types.value = typesOf(codeSystem);
      typesState.value = 'ready';
      typesError.value = undefined;
    } catch (caught) {
      typesState.value = availabilityOf(caught);
      typesError.value = caught;
    }
  }

  async function saveTypes(practice: string, rows: readonly TypeRow[]): Promise<void> {
    savedTypes = await fhir.update(typesResource(practice, rows, savedTypes));
    types.value = typesOf(savedTypes);
  }

  /** The practitioner's Schedule (the first that names them), if any. */
  async function scheduleOf(practitionerId: string): Promise<Schedule | undefined> {
    return resourcesOf<Schedule>(await fhir.search<Schedule>('Schedule', { actor: `Practitioner/${practitionerId}`, _count: '1' }), 'Schedule')[0];
  }

  /** Saves the hours on the practitioner's Schedule, made if they have none. */
  async function saveHours(practitionerId: string, form: HoursForm): Promise<Schedule> {
    const previous = await scheduleOf(practitionerId);
    const others = (previous?.extension ?? []).filter((extension) => extension.url !== HOURS_URL);
    const schedule: Schedule = {
      ...(previous ?? { resourceType: 'Schedule', id: `schedule-${practitionerId}`, actor: [{ reference: `Practitioner/${practitionerId}` }] }),
      extension: [...others, hoursExtension(form, previous)],
    };
    return fhir.update(schedule);
  }

  return { types, typesState, typesError, loadTypes, saveTypes, scheduleOf, saveHours };
});
