import type { Appointment, CodeSystem, Coding } from '../api/fhir-types';
import { TYPE_COLOUR_URL as TYPE_COLOUR, TYPE_DURATION_URL as TYPE_DURATION } from '../../src-server/appointments/appointment-types';

/**
 * How an appointment reads in the agenda, from the shapes issue 28 set down (docs/appointments.md, docs/sync.md):
 * its type's label and colour from the practice's appointment-type CodeSystem, and whether the node tags it with a
 * booking conflict. Each part is optional: without types an appointment has no colour, without the tag no conflict.
 */

export const CONFLICT_TAGS = 'http://liaison.health/fhir/CodeSystem/conflict';

export interface AppointmentType {
  system: string;
  code: string;
  display: string;
  minutes?: number;
  /** `#rrggbb`. */
  colour?: string;
}

/** The practice's CodeSystem of appointment types (`CodeSystem/appointment-type-<practice id>`), read as a list. */
export function typesOf(codeSystem: CodeSystem): AppointmentType[] {
  return (codeSystem.concept ?? []).map((concept) => {
    const extension = (url: string) => concept.extension?.find((candidate) => candidate.url === url);
    const minutes = extension(TYPE_DURATION)?.valueDuration?.value;
    const colour = extension(TYPE_COLOUR)?.valueString;
    return {
      system: codeSystem.url ?? '',
      code: concept.code,
      display: concept.display ?? concept.code,
      ...(typeof minutes === 'number' && minutes > 0 ? { minutes } : {}),
      ...(colour && /^#[0-9a-f]{6}$/i.test(colour) ? { colour } : {}),
    };
  });
}

/** The appointment's type as the practice defines it (for its colour), else as the appointment words it. */
export function typeOf(appointment: Appointment, types: readonly AppointmentType[]): { label?: string; colour?: string } {
  const codings: Coding[] = appointment.appointmentType?.coding ?? [];
  const known = types.find((type) => codings.some((coding) => coding.system === type.system && coding.code === type.code));
  return { label: known?.display ?? codings.find((coding) => coding.display)?.display ?? appointment.appointmentType?.text, colour: known?.colour };
}

/** Black or white, whichever reads better on the colour (WCAG relative luminance). */
export function textOn(colour: string): string {
  const [r, g, b] = [1, 3, 5].map((at) => {
    const channel = parseInt(colour.slice(at, at + 2), 16) / 255;
    return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? '#111' : '#fff';
}

export function hasBookingConflict(appointment: Appointment): boolean {
  return appointment.meta?.tag?.some((tag) => tag.system === CONFLICT_TAGS && tag.code === 'booking') ?? false;
}

/** The appointment without the node's conflict tags: they are computed when answering, never written back. */
export function withoutConflictTags(appointment: Appointment): Appointment {
  const tags = appointment.meta?.tag;
  if (!tags?.some((tag) => tag.system === CONFLICT_TAGS)) return appointment;
  const kept = tags.filter((tag) => tag.system !== CONFLICT_TAGS);
  const { tag: _dropped, ...meta } = appointment.meta!;
  return { ...appointment, meta: kept.length ? { ...meta, tag: kept } : meta };
}
