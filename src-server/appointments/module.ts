import type { FhirExtensions } from '../rest/extensions';
import type { Db } from '../store/database';
import type { SearchIndex } from '../store/search-index';
import { BookedTimes } from '../store/booked-times';
import { BOOKING_STATUSES, bookingRules } from './booking-rules';

/** The Appointment API's part of a node (docs/appointments.md): write rules only, nothing runs in the background. */
export function appointmentExtensions(db: Db, index: SearchIndex): Required<FhirExtensions> {
  return { operations: [], writeRules: bookingRules(new BookedTimes(db, index, BOOKING_STATUSES)) };
}
