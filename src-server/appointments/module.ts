import type { NodeModule } from '../rest/extensions';
import { BookedTimes } from '../store/booked-times';
import type { Store } from '../store/store';
import { BOOKING_STATUSES, bookingRules } from './booking-rules';

/** The Appointment API's part of a node (docs/appointments.md): write rules only, nothing runs in the background. */
export function appointmentsModule(store: Store): NodeModule {
  return { writeRules: bookingRules(new BookedTimes(store.db, store.repository.searchIndex, BOOKING_STATUSES)) };
}
