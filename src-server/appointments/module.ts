import type { NodeModule } from '../rest/extensions';
import { BookedTimes } from '../store/booked-times';
import type { Store } from '../store/store';
import { followBookingConflicts } from './booking-conflicts';
import { BOOKING_STATUSES, bookingRules } from './booking-rules';
import { appointmentTypesOperation } from './appointment-types-operation';
import { freeSlotSearch } from './free-slot-search';
import { FreeSlots } from './free-slots';
import { scheduleRules, type PracticesOf } from './schedule-rules';

export interface AppointmentsOptions {
  /** The practices a practitioner belongs to (the node's users): whose admins may write their Schedule. None: only the owner may. */
  practicesOf?: PracticesOf;
}

/**
 * The Appointment API's part of a node (docs/appointments.md): write rules, the free-slot search, `$appointment-types`,
 * and the booking conflicts kept in step with every appointment that becomes current; nothing runs in the background.
 */
export function appointmentsModule(store: Store, options: AppointmentsOptions = {}): NodeModule {
  const booked = new BookedTimes(store.db, store.repository.searchIndex, BOOKING_STATUSES);
  followBookingConflicts(store.repository, booked);
  const practicesOf = options.practicesOf ?? (() => []);
  const slots = new FreeSlots(booked, practicesOf);
  return { writeRules: [...bookingRules(booked, slots), ...scheduleRules(practicesOf)], derivedSearches: [freeSlotSearch(slots)], operations: [appointmentTypesOperation] };
}
