import { FhirError } from '../fhir/outcome';
import type { BookedTimes } from '../store/booked-times';
import type { BookingOverlap } from '../store/open-conflicts';
import type { Repository } from '../store/repository';
import { BLOCKING_STATUSES } from './booking-rules';
import { overlapping, practitionersOf, storedReader } from './whose-time';
import { MAX_APPOINTMENT_MS, periodOf, type Period } from './times';

/**
 * Booking conflicts (docs/sync.md, "Booking conflicts"): the API refuses a booking that overlaps another, but two
 * nodes apart can each take the same time, and sync then brings both. Whenever an appointment gets a new current
 * version (a peer's, a local move or cancel, an import), its booking conflicts are computed again from the current
 * versions: the booked or arrived appointments of one of its practitioners that overlap it. A function of the data
 * alone, so every node that holds the same versions holds the same conflicts, and nothing about them is synced.
 *
 * References count only when relative (`Practitioner/<id>`): an absolute one is local on one node and not on
 * another, which would make the nodes disagree.
 */

const RELATIVE_ONLY = '';

export function followBookingConflicts(repository: Repository, booked: BookedTimes): void {
  repository.onCurrent('Appointment', (id, appointment) => repository.conflicts.setBookings(id, overlapsOf(id, appointment, repository, booked)));
}

function overlapsOf(id: string, appointment: Readonly<Record<string, unknown>>, repository: Repository, booked: BookedTimes): BookingOverlap[] {
  if (!BLOCKING_STATUSES.has(String(appointment.status))) return [];
  const period = blockingPeriod(appointment, id);
  if (!period) return [];
  return practitionersOf(appointment, RELATIVE_ONLY, storedReader(repository)).flatMap((practitionerId) =>
    overlapping(booked, practitionerId, period, id, RELATIVE_ONLY)
      // The same bound on both sides: each of two overlapping appointments finds the other (booked-times.ts reads
      // back MAX_APPOINTMENT_MS only), whichever arrives last.
      .filter((other) => other.end - other.start <= MAX_APPOINTMENT_MS)
      .map((other) => ({ other: other.id, practitionerId })),
  );
}

/** The appointment's time if it can take part in a booking conflict: a valid period of at most MAX_APPOINTMENT_MS. */
function blockingPeriod(appointment: Readonly<Record<string, unknown>>, id: string): Period | undefined {
  try {
    const period = periodOf(appointment, `Appointment/${id}`);
    return period && period.end - period.start <= MAX_APPOINTMENT_MS ? period : undefined;
  } catch (error) {
    // A peer's version is stored as it came, even with times the API would refuse: it blocks nothing.
    if (error instanceof FhirError) return undefined;
    throw error;
  }
}
