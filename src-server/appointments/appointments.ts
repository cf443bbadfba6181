import type { FhirExtensions } from '../fhir/rest/extensions';
import type { Db } from '../storage/database';
import type { SearchIndex } from '../storage/search-index';
import { BookedTimes } from './booked-times';
import { bookingRules } from './booking-rules';

/** The Appointment API's part of a node (docs/appointments.md): write rules only, nothing runs in the background. */
export function appointmentExtensions(db: Db, index: SearchIndex): Required<FhirExtensions> {
  return { operations: [], writeRules: bookingRules(new BookedTimes(db, index)) };
}
