import type { Statement } from 'better-sqlite3';
import { localReference, qualified } from './search/conditions';
import type { Db } from './database';
import type { SearchIndex } from './search-index';

/**
 * The booked time of practitioners and the holders of slots, read from the search index in the write's own
 * transaction: every write committed or ahead of this one in the group commit is seen (store/group-commit.ts), so
 * two bookings of the same time cannot both pass, however they arrive (appointments/booking-rules.ts).
 */

/** Appointment statuses, as the booking rules count them. */
export interface BookingStatuses {
  /** Those that occupy the practitioners' time. */
  blocking: ReadonlySet<string>;
  /** Those that keep their slots busy. */
  holding: ReadonlySet<string>;
}

/** Statuses are the rules' own words, written into the SQL text. */
const quoted = (statuses: ReadonlySet<string>) => [...statuses].map((status) => `'${status.replace(/'/g, "''")}'`).join(', ');

/** Beyond this span, the appointments are found from the practitioner's references rather than from the dates. */
const LONG_SPAN_MS = 3 * 86_400_000;

export class BookedTimes {
  private statements: { overlapping: Statement; overlappingLong: Statement; holders: Statement } | undefined;

  constructor(
    private readonly db: Db,
    private readonly index: SearchIndex,
    private readonly statuses: BookingStatuses,
  ) {}

  /**
   * The practitioner's appointments with a blocking status that start after `after` and before `before`, but
   * `excludeId` (the appointment being moved): their ids and JSON. An appointment is the practitioner's whichever
   * way it names them: a `Practitioner` actor, a `PractitionerRole` actor whose practitioner they are, or a Slot of a
   * Schedule whose actor is either. A short span (a booking's check) is read from the index of Appointment `date`
   * (the start): a few rows per practitioner of the node, however long its history; a long one (the free slots of
   * weeks) from the practitioner's own references, then their dates: the other practitioners' weeks are not read.
   */
  startingBetween(practitionerId: string, after: number, before: number, excludeId: string | undefined, base: string): Array<{ id: string; body: string }> {
    const statements = this.prepared();
    const statement = before - after > LONG_SPAN_MS ? statements.overlappingLong : statements.overlapping;
    return statement.all({ after, before, exclude: excludeId ?? '', practitioner: practitionerId, base }) as Array<{ id: string; body: string }>;
  }

  /** Ids of the appointments that hold the slot (reference it with a holding status). */
  holdersOf(slotId: string, base: string): string[] {
    return (this.prepared().holders.all(slotId, base) as Array<{ id: string }>).map((row) => row.id);
  }

  /** Prepared on first use: the parameter ids they embed exist once the index has seen the types. */
  private prepared() {
    if (this.statements) return this.statements;
    const rows = (type: string, code: string, alias: string) => this.index.rowsOf(type, code, qualified(alias));
    const status = (alias: string, row: string, statuses: ReadonlySet<string>) =>
      `EXISTS (SELECT 1 FROM idx_token ${alias} WHERE ${alias}.vseq = ${row}.vseq AND ${rows('Appointment', 'status', alias)} AND ${alias}.code IN (${quoted(statuses)}))`;
    // Its one value is the base, bound last in the holders' statement.
    const local = (alias: string) => localReference('', qualified(alias)).sql;
    // The same with the base as a named parameter, for a statement that tests several references.
    const near = (alias: string) => local(alias).replace('?', '@base');
    // The practitioner's names (their roles, the schedules of either), once per query.
    const names = `WITH roles AS (
           SELECT v.resource_id AS id FROM idx_reference r JOIN resource_versions v ON v.vseq = r.vseq
           WHERE ${rows('PractitionerRole', 'practitioner', 'r')} AND r.target_type = 'Practitioner' AND r.target_id = @practitioner AND ${near('r')}
         ), schedules AS (
           SELECT v.resource_id AS id FROM idx_reference r JOIN resource_versions v ON v.vseq = r.vseq
           WHERE ${rows('Schedule', 'actor', 'r')} AND r.target_type = 'Practitioner' AND r.target_id = @practitioner AND ${near('r')}
           UNION
           SELECT v.resource_id AS id FROM roles JOIN idx_reference r ON r.target_id = roles.id JOIN resource_versions v ON v.vseq = r.vseq
           WHERE ${rows('Schedule', 'actor', 'r')} AND r.target_type = 'PractitionerRole' AND ${near('r')}
         )`;
    this.statements = {
      overlapping: this.db.prepare(
        // The filters test the index rows (d.vseq) before the version, whose body is read only for the few that pass.
        `${names}
         SELECT v.resource_id AS id, v.body AS body
         FROM idx_date d JOIN resource_versions v ON v.vseq = d.vseq
         WHERE ${rows('Appointment', 'date', 'd')} AND d.low > @after AND d.low < @before AND v.resource_id <> @exclude
           AND ${status('s', 'd', this.statuses.blocking)}
           AND EXISTS (SELECT 1 FROM idx_reference a WHERE a.vseq = d.vseq AND ${near('a')} AND (
             (${rows('Appointment', 'actor', 'a')} AND a.target_type = 'Practitioner' AND a.target_id = @practitioner)
             OR (${rows('Appointment', 'practitioner-role', 'a')} AND a.target_type = 'PractitionerRole' AND a.target_id IN roles)
             OR (${rows('Appointment', 'slot', 'a')} AND a.target_type = 'Slot' AND EXISTS (
               SELECT 1 FROM resources slot JOIN idx_reference sc ON sc.vseq = slot.vseq
               WHERE slot.resource_type = 'Slot' AND slot.resource_id = a.target_id AND ${rows('Slot', 'schedule', 'sc')}
                 AND sc.target_type = 'Schedule' AND sc.target_id IN schedules AND ${near('sc')}))))`,
      ),
      overlappingLong: this.db.prepare(
        // The appointments that name the practitioner each way (the slots from the schedules: few, and indexed), then
        // the date and status of each: CROSS JOIN keeps that order (the planner would walk every practitioner's dates).
        `${names}, named AS (
           SELECT a.vseq FROM idx_reference a
           WHERE ${rows('Appointment', 'actor', 'a')} AND a.target_type = 'Practitioner' AND a.target_id = @practitioner AND ${near('a')}
           UNION
           SELECT a.vseq FROM roles JOIN idx_reference a ON a.target_id = roles.id
           WHERE ${rows('Appointment', 'practitioner-role', 'a')} AND a.target_type = 'PractitionerRole' AND ${near('a')}
           UNION
           SELECT a.vseq FROM schedules
             JOIN idx_reference sc ON sc.target_id = schedules.id AND ${rows('Slot', 'schedule', 'sc')} AND sc.target_type = 'Schedule' AND ${near('sc')}
             JOIN resource_versions slot ON slot.vseq = sc.vseq
             JOIN idx_reference a ON a.target_id = slot.resource_id AND ${rows('Appointment', 'slot', 'a')} AND a.target_type = 'Slot' AND ${near('a')}
         )
         SELECT v.resource_id AS id, v.body AS body
         FROM named n CROSS JOIN idx_date d ON d.vseq = n.vseq CROSS JOIN resource_versions v ON v.vseq = n.vseq
         WHERE ${rows('Appointment', 'date', 'd')} AND d.low > @after AND d.low < @before AND v.resource_id <> @exclude
           AND ${status('s', 'd', this.statuses.blocking)}`,
      ),
      holders: this.db.prepare(
        `SELECT v.resource_id AS id
         FROM idx_reference r JOIN resource_versions v ON v.vseq = r.vseq
         WHERE ${rows('Appointment', 'slot', 'r')} AND r.target_type = 'Slot' AND r.target_id = ? AND ${local('r')}
           AND ${status('s', 'r', this.statuses.holding)}`,
      ),
    };
    return this.statements;
  }
}
