import type { NodeModule } from '../rest/extensions';
import { BookedTimes } from '../store/booked-times';
import type { Store } from '../store/store';
import { followBookingConflicts } from './booking-conflicts';
import { BOOKING_STATUSES, bookingRules } from './booking-rules';

/**
 * The Appointment API's part of a node (docs/appointments.md): write rules, and the booking conflicts kept in step
 * with every appointment that becomes current; nothing runs in the background.
 */
export function appointmentsModule(store: Store): NodeModule {
  const booked = new BookedTimes(store.db, store.repository.searchIndex, BOOKING_STATUSES);
  followBookingConflicts(store.repository, booked);
  return { writeRules: bookingRules(booked) };
}
