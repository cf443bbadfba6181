import type { ConflictKind } from '../fhir/conflict-tags';
import type { Db } from './database';

/** A resource whose versions have concurrent leaves (sync), as the repository records it. */
export interface OpenConflict {
  resource_type: string;
  resource_id: string;
  opened_at: string;
}

/** Two booked appointments of one practitioner that overlap (docs/sync.md, "Booking conflicts"); a < b. */
export interface BookingConflict {
  appointment_a: string;
  appointment_b: string;
  practitioner_id: string;
  opened_at: string;
}

/** Another appointment the one being settled overlaps, and whose time they share. */
export interface BookingOverlap {
  other: string;
  practitionerId: string;
}

const NONE: readonly ConflictKind[] = [];

/**
 * The open conflicts of both kinds: edit conflicts (a resource with concurrent leaves, opened and closed by the
 * repository as it stores versions) and booking conflicts (set by the appointments module for each appointment that
 * becomes current). Also the answer to "which kinds of conflict has this resource?" for every resource a read or a
 * search serves: kept in memory (the set is small), read again from the tables after any change to them, so a
 * page of results costs a map lookup per row and no query.
 */
export class OpenConflicts {
  private readonly statements;
  /** `Type/id` → its kinds; undefined: to read again (the tables changed, or the last read was inside a transaction). */
  private marks: Map<string, ConflictKind[]> | undefined;

  constructor(private readonly db: Db) {
    this.statements = {
      page: db.prepare<[string, string, string, number], OpenConflict>(
        `SELECT resource_type, resource_id, opened_at FROM open_conflicts
         WHERE resource_type > ? OR (resource_type = ? AND resource_id > ?) ORDER BY resource_type, resource_id LIMIT ?`,
      ),
      one: db.prepare<[string, string], OpenConflict>('SELECT resource_type, resource_id, opened_at FROM open_conflicts WHERE resource_type = ? AND resource_id = ?'),
      open: db.prepare('INSERT OR IGNORE INTO open_conflicts (resource_type, resource_id, opened_at) VALUES (?, ?, ?)'),
      close: db.prepare('DELETE FROM open_conflicts WHERE resource_type = ? AND resource_id = ?'),
      bookingPage: db.prepare<[string, string, string, number], BookingConflict>(
        `SELECT appointment_a, appointment_b, practitioner_id, opened_at FROM booking_conflicts
         WHERE (appointment_a, appointment_b, practitioner_id) > (?, ?, ?)
         ORDER BY appointment_a, appointment_b, practitioner_id LIMIT ?`,
      ),
      bookingsOf: db.prepare<[string, string], BookingConflict>(
        `SELECT appointment_a, appointment_b, practitioner_id, opened_at FROM booking_conflicts WHERE appointment_a = ?
         UNION ALL SELECT appointment_a, appointment_b, practitioner_id, opened_at FROM booking_conflicts WHERE appointment_b = ?
         ORDER BY 1, 2, 3`,
      ),
      addBooking: db.prepare('INSERT OR IGNORE INTO booking_conflicts (appointment_a, appointment_b, practitioner_id, opened_at) VALUES (?, ?, ?, ?)'),
      removeBooking: db.prepare('DELETE FROM booking_conflicts WHERE appointment_a = ? AND appointment_b = ? AND practitioner_id = ?'),
      allEdits: db.prepare<[], { resource_type: string; resource_id: string }>('SELECT resource_type, resource_id FROM open_conflicts'),
      allBookings: db.prepare<[], { appointment_a: string; appointment_b: string }>('SELECT appointment_a, appointment_b FROM booking_conflicts'),
    };
  }

  /** Up to `limit` open edit conflicts after the resource `afterType/afterId` ('' '' for the first). */
  after(afterType: string, afterId: string, limit: number): OpenConflict[] {
    return this.statements.page.all(afterType, afterType, afterId, limit);
  }

  /** The resource's open edit conflict, if it has one. */
  of(resourceType: string, id: string): OpenConflict | undefined {
    return this.statements.one.get(resourceType, id);
  }

  /** Records that the resource has concurrent leaves (kept with its first opening time while it stays open). */
  open(resourceType: string, id: string): void {
    if (this.statements.open.run(resourceType, id, new Date().toISOString()).changes > 0) this.touched();
  }

  /** Records that the resource has one leaf again. */
  close(resourceType: string, id: string): void {
    if (this.statements.close.run(resourceType, id).changes > 0) this.touched();
  }

  /** Up to `limit` booking conflicts after the one keyed `after` (none: from the first), in key order. */
  bookingsAfter(after: readonly [string, string, string] | undefined, limit: number): BookingConflict[] {
    const [a, b, practitioner] = after ?? ['', '', ''];
    return this.statements.bookingPage.all(a, b, practitioner, limit);
  }

  /** The booking conflicts an appointment is in. */
  bookingsOf(appointmentId: string): BookingConflict[] {
    return this.statements.bookingsOf.all(appointmentId, appointmentId);
  }

  /**
   * The appointment's booking conflicts are now exactly `overlaps`: those it no longer has close, new ones open, and
   * those it keeps keep their opening time. Called in the transaction that made its version current.
   */
  setBookings(appointmentId: string, overlaps: readonly BookingOverlap[]): void {
    const key = (a: string, b: string, practitioner: string) => `${a}\u0000${b}\u0000${practitioner}`;
    const wanted = new Map(
      overlaps.map(({ other, practitionerId }) => {
        const [a, b] = appointmentId < other ? [appointmentId, other] : [other, appointmentId];
        return [key(a, b, practitionerId), [a, b, practitionerId] as const];
      }),
    );
    let changed = false;
    for (const row of this.bookingsOf(appointmentId)) {
      if (wanted.delete(key(row.appointment_a, row.appointment_b, row.practitioner_id))) continue;
      this.statements.removeBooking.run(row.appointment_a, row.appointment_b, row.practitioner_id);
      changed = true;
    }
    const now = new Date().toISOString();
    for (const [a, b, practitioner] of wanted.values()) changed = this.statements.addBooking.run(a, b, practitioner, now).changes > 0 || changed;
    if (changed) this.touched();
  }

  /** The kinds of open conflict the resource is in (most often none): for the tag reads and searches add. */
  kindsOf(resourceType: string, id: string): readonly ConflictKind[] {
    const marks = this.marks ?? this.load();
    return marks.size === 0 ? NONE : (marks.get(`${resourceType}/${id}`) ?? NONE);
  }

  private touched(): void {
    this.marks = undefined;
  }

  private load(): Map<string, ConflictKind[]> {
    const marks = new Map<string, ConflictKind[]>();
    const mark = (key: string, kind: ConflictKind) => {
      const kinds = marks.get(key);
      if (!kinds) marks.set(key, [kind]);
      else if (!kinds.includes(kind)) kinds.push(kind);
    };
    for (const row of this.statements.allEdits.iterate()) mark(`${row.resource_type}/${row.resource_id}`, 'edit');
    for (const row of this.statements.allBookings.iterate()) {
      mark(`Appointment/${row.appointment_a}`, 'booking');
      mark(`Appointment/${row.appointment_b}`, 'booking');
    }
    // Read inside a transaction, the tables may yet roll back: read them again next time.
    if (!this.db.inTransaction) this.marks = marks;
    return marks;
  }
}
