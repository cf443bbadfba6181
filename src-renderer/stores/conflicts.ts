import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, fhir, type Availability } from '../api';
import { FhirApiError } from '../api/fhir-client';
import type { Parameters, ParametersParameter, Patient, Practitioner, Resource } from '../api/fhir-types';

/**
 * Sync conflicts the user may see (`GET /fhir/$conflicts`, as the logged-in user: the node leaves out what their
 * scopes and reach do not show), and closing an edit conflict by keeping one of its versions (`Type/id/$resolve`,
 * naming every version the user saw, docs/sync.md). A booking conflict (two appointments of one practitioner that
 * overlap) is closed by moving or cancelling one of them in the agenda: its practitioner and patients are read, to be
 * named.
 */

export interface ConflictLeaf {
  versionId: string;
  archived: boolean;
  resource: Resource;
}

/** Where the versions differ: each version's value at `path`, `undefined` where that version has none. */
export interface ConflictDifference {
  path: string;
  values: Record<string, unknown>;
}

export interface EditConflict {
  kind: 'edit';
  /** `Type/id`: also the conflict's key. */
  target: string;
  resourceType: string;
  id: string;
  opened: string;
  /** The version reads and searches show meanwhile. */
  winner: string;
  leaves: ConflictLeaf[];
  differences: ConflictDifference[];
}

/** One of the appointments of a booking conflict, as the node lists it. */
export interface ConflictingAppointment {
  id: string;
  start: string;
  end: string;
  status: string;
  /** The patient's id, when the appointment names one. */
  patientId?: string;
}

export interface BookingConflict {
  kind: 'booking';
  /** `booking/<a>/<b>/<practitioner>`: the conflict's key. */
  target: string;
  opened: string;
  practitionerId: string;
  /** The two appointments, in id order. */
  appointments: ConflictingAppointment[];
}

export type SyncConflict = EditConflict | BookingConflict;

const part = (parameter: ParametersParameter, name: string) => parameter.part?.find((candidate) => candidate.name === name);
const parts = (parameter: ParametersParameter, name: string) => parameter.part?.filter((candidate) => candidate.name === name) ?? [];

const idOf = (reference: string | undefined, type: string) => (reference?.startsWith(`${type}/`) ? reference.slice(type.length + 1) : undefined);

/** A booking conflict of a `$conflicts` answer. */
function bookingOf(conflict: ParametersParameter): BookingConflict {
  const practitionerId = idOf(part(conflict, 'practitioner')?.valueReference?.reference, 'Practitioner') ?? '';
  const appointments = parts(conflict, 'appointment').map((appointment) => ({
    id: idOf(part(appointment, 'target')?.valueReference?.reference, 'Appointment') ?? '',
    start: part(appointment, 'start')?.valueInstant ?? '',
    end: part(appointment, 'end')?.valueInstant ?? '',
    status: part(appointment, 'status')?.valueCode ?? '',
    patientId: idOf(part(appointment, 'patient')?.valueReference?.reference, 'Patient'),
  }));
  return { kind: 'booking', target: ['booking', ...appointments.map((appointment) => appointment.id), practitionerId].join('/'), opened: part(conflict, 'opened')?.valueInstant ?? '', practitionerId, appointments };
}

/** The conflicts of a `$conflicts` answer, as the node describes them (a node older than booking conflicts gives no kind: edit). */
export function conflictsOf(parameters: Parameters): SyncConflict[] {
  return (parameters.parameter ?? [])
    .filter((parameter) => parameter.name === 'conflict')
    .map((conflict): SyncConflict => {
      if (part(conflict, 'kind')?.valueCode === 'booking') return bookingOf(conflict);
      const target = part(conflict, 'target')?.valueReference?.reference ?? '';
      const [resourceType = '', id = ''] = target.split('/');
      return {
        kind: 'edit',
        target,
        resourceType,
        id,
        opened: part(conflict, 'opened')?.valueInstant ?? '',
        winner: part(conflict, 'winner')?.valueId ?? '',
        leaves: parts(conflict, 'leaf').map((leaf) => ({
          versionId: part(leaf, 'versionId')?.valueId ?? '',
          archived: part(leaf, 'archived')?.valueBoolean ?? false,
          resource: part(leaf, 'resource')?.resource as Resource,
        })),
        differences: parts(conflict, 'difference').map((difference) => ({
          path: part(difference, 'path')?.valueString ?? '',
          values: Object.fromEntries(
            parts(difference, 'value').map((value) => {
              const json = part(value, 'json')?.valueString;
              return [part(value, 'versionId')?.valueId ?? '', json === undefined ? undefined : (JSON.parse(json) as unknown)];
            }),
          ),
        })),
      };
    });
}

function nextOf(parameters: Parameters): string | undefined {
  return parameters.parameter?.find((parameter) => parameter.name === 'next')?.valueString;
}

export const useConflictsStore = defineStore('conflicts', () => {
  const conflicts = ref<SyncConflict[]>([]);
  const state = ref<Availability>('loading');
  const error = ref<unknown>();
  /** The next page's address, when the node has more. */
  const next = ref<string>();
  /** The practitioners and patients booking conflicts name, by `Type/id`: null when this user may not read it. */
  const records = ref<Record<string, Patient | Practitioner | null>>({});

  async function read(path: string, append: boolean): Promise<void> {
    try {
      const answer = await fhir.operation(path);
      const listed = conflictsOf(answer);
      await readNamed(listed);
      conflicts.value = append ? [...conflicts.value, ...listed] : listed;
      next.value = nextOf(answer);
      state.value = 'ready';
      error.value = undefined;
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  /** Reads the records the booking conflicts name that are not read yet, all at once; one that fails is unnamed. */
  async function readNamed(listed: SyncConflict[]): Promise<void> {
    const wanted = new Set(
      listed.flatMap((conflict) =>
        conflict.kind === 'booking' ? [`Practitioner/${conflict.practitionerId}`, ...conflict.appointments.flatMap((appointment) => (appointment.patientId ? [`Patient/${appointment.patientId}`] : []))] : [],
      ),
    );
    const missing = [...wanted].filter((key) => !(key in records.value));
    const read = await Promise.all(
      missing.map(async (key) => {
        const [type, id] = key.split('/');
        return [key, await fhir.read<Patient | Practitioner>(type, id).catch(() => null)] as const;
      }),
    );
    records.value = { ...records.value, ...Object.fromEntries(read) };
  }

  const load = () => read('$conflicts', false);

  async function more(): Promise<void> {
    if (next.value) await read(next.value, true);
  }

  /**
   * Closes the conflict with `versionId`'s content, naming every version the user saw. When the versions changed
   * meanwhile (409) the conflict is read again, so the screen shows what is there now, and the refusal is passed on.
   */
  async function keep(conflict: EditConflict, versionId: string): Promise<void> {
    const kept = conflict.leaves.find((leaf) => leaf.versionId === versionId);
    if (!kept) throw new Error(`${versionId} is not a version of ${conflict.target}`);
    const instance = `${conflict.resourceType}/${encodeURIComponent(conflict.id)}`;
    try {
      await fhir.operation(`${instance}/$resolve`, {
        resourceType: 'Parameters',
        parameter: [{ name: 'resource', resource: kept.resource }, ...conflict.leaves.map((leaf) => ({ name: 'leaf', valueId: leaf.versionId }))],
      });
      replace(conflict.target, []);
    } catch (caught) {
      if (caught instanceof FhirApiError && caught.status === 409) {
        replace(conflict.target, conflictsOf(await fhir.operation(`${instance}/$conflicts`).catch(() => ({ resourceType: 'Parameters' as const }))));
      }
      throw caught;
    }
  }

  /** Puts `now` (the conflict as it is now, or nothing once closed) where `target` was. */
  function replace(target: string, now: SyncConflict[]): void {
    const at = conflicts.value.findIndex((conflict) => conflict.target === target);
    if (at >= 0) conflicts.value.splice(at, 1, ...now);
  }

  return { conflicts, records, state, error, next, load, more, keep };
});
