import { badRequest } from '../fhir/outcome';
import { parseDateRange } from '../fhir/search/dates';
import { DEFAULT_COUNT, MAX_COUNT } from '../fhir/search/parse';
import type { DerivedSearch, FhirInteractions } from '../rest/extensions';
import type { StoredResource } from '../store/repository';
import type { SearchResult } from '../store/search/search';
import { allSchedules, everyMatch, slotResource, type FreeSlots, type HoursSchedule, type SlotType } from './free-slots';
import { localId } from './times';

/**
 * `Slot?status=free&…` (docs/appointments.md, "Free slots"): the slots derived from the opening hours of the
 * schedules that have some, with the stored free Slots of those that have none, in start order, paged. A search
 * covers at most HORIZON from its lower bound, and never the past.
 */

const WEEK = 7 * 86_400_000;
/** How far one search looks ahead (12 weeks): the next page or a later `start=ge` goes on from there. */
export const HORIZON = 12 * WEEK;
/** The parameters derived slots answer; others are refused rather than ignored. */
const ANSWERED = new Set(['status', 'schedule', 'schedule.actor', 'start', 'appointment-type', '_count', '_sort', '_cursor', '_total', '_format', '_pretty']);
const OFFSET = /^free-(\d{1,9})$/;

export function freeSlotSearch(slots: FreeSlots, now: () => number = Date.now): DerivedSearch {
  return {
    type: 'Slot',
    claims: (params) => params.getAll('status').join(',') === 'free',
    run: ({ base, params, interactions }) => search(slots, now(), base, params, interactions),
  };
}

function search(slots: FreeSlots, now: number, base: string, params: URLSearchParams, interactions: FhirInteractions): SearchResult {
  for (const name of params.keys()) if (!ANSWERED.has(name)) throw badRequest('free-slot-search-unsupported', `A search of free Slots does not take '${name}': use ${[...ANSWERED].join(', ')}`, name);
  const sort = params.get('_sort');
  if (sort !== null && sort !== 'start') throw badRequest('free-slot-search-unsupported', `Free Slots come in start order (_sort=start), not '${sort}'`, '_sort');
  const { from, to } = rangeOf(params.getAll('start'), now);
  const count = Math.min(MAX_COUNT, Number(params.get('_count') ?? DEFAULT_COUNT));
  const offset = Number(OFFSET.exec(params.get('_cursor') ?? 'free-0')?.[1] ?? 'NaN');
  if (!Number.isInteger(count) || count < 0 || Number.isNaN(offset)) throw badRequest('free-slot-search-unsupported', 'Free Slots take a _count from 0 to 100 and the _cursor of their own links', '_count');

  const schedules = schedulesOf(params, interactions, base).map((stored) => ({ stored, hours: slots.hoursSchedule(stored, interactions, base) }));
  const derived = schedules.flatMap(({ hours: schedule }) =>
    schedule ? typesAsked(params.get('appointment-type'), schedule).flatMap((type) => slots.free(schedule, from, to, type, interactions, base).map((slot) => ({ ...slot, schedule, type }))) : [],
  );
  // The stored free slots the engine finds, of the schedules without hours (theirs are derived): none to look for
  // when every schedule searched has hours.
  const withHours = new Set(schedules.flatMap(({ stored, hours }) => (hours ? [stored.id] : [])));
  const stored =
    schedules.length > 0 && withHours.size === schedules.length
      ? []
      : everyMatch(interactions, 'Slot', withCount(storedParams(params)), base).flatMap((slot) => {
          const json = JSON.parse(slot.json) as { start?: string; schedule?: { reference?: string } };
          const scheduleId = localId(json.schedule?.reference, 'Schedule', base);
          // The engine's `schedule.actor` is the exact actor; ours adds the practitioner's roles: a superset of its schedules.
          return scheduleId !== undefined && withHours.has(scheduleId) ? [] : [{ start: Date.parse(json.start ?? ''), end: 0, stored: slot }];
        });
  // In start order, then by schedule and type: the same order on every node, without making every slot's id.
  const all = [...derived, ...stored].sort((a, b) => a.start - b.start || orderKey(a).localeCompare(orderKey(b)));
  const page = all.slice(offset, offset + count).map((entry) => ('stored' in entry ? entry.stored : asStored(slotResource(entry.schedule, entry, entry.type), entry.schedule)));

  const applied = new URLSearchParams(params);
  applied.set('_count', String(count));
  applied.delete('_cursor');
  return {
    query: { filters: [], count, sort: [], total: params.get('_total') === 'none' ? 'none' : 'accurate', include: [], revinclude: [], applied, ...(offset > 0 ? { cursor: `free-${offset}` } : {}) },
    matches: page,
    included: [],
    ...(params.get('_total') === 'none' ? {} : { total: all.length }),
    ...(offset + count < all.length ? { next: `free-${offset + count}` } : {}),
    ...(offset > 0 ? { previous: `free-${Math.max(0, offset - count)}` } : {}),
    plan: 'resources',
  };
}

/** `start` bounds: ge/gt the lower, lt/le the upper, a bare date both; never before now, never beyond HORIZON. */
function rangeOf(values: string[], now: number): { from: number; to: number } {
  let from = now;
  let to = Number.POSITIVE_INFINITY;
  for (const value of values) {
    const prefix = /^(ge|gt|lt|le|eq)/.exec(value)?.[1] ?? 'eq';
    const range = parseDateRange(value.replace(/^(ge|gt|lt|le|eq)/, ''));
    if (!range) throw badRequest('free-slot-search-unsupported', `'${value}' is not a date for start`, 'start');
    if (prefix === 'ge' || prefix === 'eq') from = Math.max(from, range.start);
    if (prefix === 'gt') from = Math.max(from, range.end);
    if (prefix === 'lt' || prefix === 'eq') to = Math.min(to, range.start === range.end ? range.start : prefix === 'eq' ? range.end : range.start);
    if (prefix === 'le') to = Math.min(to, range.end);
  }
  return { from, to: Math.min(to, from + HORIZON) };
}

/** The schedules the search names (by id or by actor, a practitioner counting with their roles), else all. */
function schedulesOf(params: URLSearchParams, interactions: FhirInteractions, base: string): StoredResource[] {
  const named = params.getAll('schedule').flatMap((value) => value.split(','));
  const actors = params.getAll('schedule.actor').flatMap((value) => value.split(','));
  const ids = new Set(named.map((reference) => localId(reference.includes('/') ? reference : `Schedule/${reference}`, 'Schedule', base)));
  if (actors.length === 0 && named.length > 0) return [...ids].flatMap((id) => (id === undefined ? [] : (interactions.repository.read('Schedule', id) ?? [])));
  if (actors.length === 0) return allSchedules(interactions, base);
  const roles = actors.flatMap((actor) => (actor.startsWith('Practitioner/') ? everyMatch(interactions, 'PractitionerRole', withCount(new URLSearchParams({ practitioner: actor })), base).map((role) => `PractitionerRole/${role.id}`) : []));
  const ofActors = allSchedules(interactions, base, new URLSearchParams({ actor: [...actors, ...roles].join(',') }));
  return named.length > 0 ? ofActors.filter((schedule) => ids.has(schedule.id)) : ofActors;
}

/** The slot lengths asked: the schedule's own step (no type), or the one type named (`system|code` or `code`). */
function typesAsked(value: string | null, schedule: HoursSchedule): Array<SlotType | undefined> {
  if (value === null) return [undefined];
  const [system, code] = value.includes('|') ? value.split('|', 2) : [undefined, value];
  if (system !== undefined && system !== '' && system !== schedule.types.system) return [];
  const type = schedule.types.list.find((candidate) => candidate.code === code);
  return type ? [{ system: schedule.types.system, type }] : [];
}

function asStored(slot: Record<string, unknown>, schedule: HoursSchedule): StoredResource {
  return { resourceType: 'Slot', id: String(slot.id), versionId: '1', lastUpdated: schedule.lastUpdated, json: JSON.stringify(slot) };
}

/** An entry's place among those of the same start. */
function orderKey(entry: { stored: StoredResource } | { schedule: HoursSchedule; type?: SlotType }): string {
  return 'stored' in entry ? `~${entry.stored.id}` : `${entry.schedule.id}|${entry.type?.type.code ?? ''}`;
}

/** The client's parameters for the engine, without the paging the derived search does itself. */
function storedParams(params: URLSearchParams): URLSearchParams {
  const stored = new URLSearchParams(params);
  for (const name of ['_count', '_cursor', '_sort', '_total']) stored.delete(name);
  return stored;
}

function withCount(params: URLSearchParams): URLSearchParams {
  params.set('_count', String(MAX_COUNT));
  return params;
}
