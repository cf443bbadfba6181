import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, startTestNode, useTestNode, type TestNode } from '../../helpers/node';
import { userToken } from '../../helpers/users';

/**
 * The practice's schedule as FHIR on a real node over HTTP (issue 28): opening hours on a Schedule and the practice's
 * appointment types, checked and written by the practice's admin only; free Slots derived from the hours, less the
 * bookings, with the same ids on every node, searchable by schedule, practitioner, type and date, and bookable under
 * the no-overlap rule.
 */

type Json = Record<string, any>;

const node = useTestNode();
const HOURS_URL = 'http://liaison.health/fhir/StructureDefinition/schedule-hours';
const TYPES_URL = 'http://liaison.health/fhir/CodeSystem/appointment-type/cabinet-s';
const DURATION_URL = 'http://liaison.health/fhir/StructureDefinition/appointment-type-duration';
const COLOUR_URL = 'http://liaison.health/fhir/StructureDefinition/appointment-type-colour';

async function call(token: string, path: string, init: RequestInit & { json?: unknown } = {}, on: TestNode = node()): Promise<{ status: number; body: Json }> {
  const response = await fhirFetch(on.fhir, token, path, init);
  return { status: response.status, body: (await response.json()) as Json };
}
const owner = (path: string, init: RequestInit & { json?: unknown } = {}) => call(node().token, path, init);
const refusalCode = (body: Json) => body.issue?.[0]?.details?.coding?.[0]?.code as string | undefined;

const part = (url: string, value: Json) => ({ url, ...value });
const days = (...codes: string[]) => codes.map((code) => part('daysOfWeek', { valueCode: code }));
const open = (dayCodes: string[], from: string, to: string) => part('availableTime', { extension: [...days(...dayCodes), part('availableStartTime', { valueTime: from }), part('availableEndTime', { valueTime: to })] });
const closed = (description: string, during: Json) => part('notAvailable', { extension: [part('description', { valueString: description }), part('during', { valuePeriod: during })] });

/** A Schedule of `actor` with opening hours made of `parts`. */
const schedule = (id: string, actor: string, parts: Json[]) => ({ resourceType: 'Schedule', id, actor: [{ reference: actor }], extension: [{ url: HOURS_URL, extension: parts }] });

/** Dr d1's week: Monday 08:30–12:00 and Tuesday 14:00–15:00 (Paris), 30-minute slots. */
const D1_HOURS = [part('slotMinutes', { valuePositiveInt: 30 }), open(['mon'], '08:30:00', '12:00:00'), open(['tue'], '14:00:00', '15:00:00')];

async function free(query: string, on: TestNode = node()): Promise<Json[]> {
  const found: Json[] = [];
  let next: string | undefined = `Slot?status=free&${query}`;
  while (next) {
    const page = await call(on.token, next, {}, on);
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    found.push(...(page.body.entry ?? []).map((entry: Json) => entry.resource));
    next = page.body.link.find((link: Json) => link.relation === 'next')?.url;
  }
  return found;
}
const startsOf = async (query: string) => (await free(query)).map((slot) => slot.start as string);

function appointment(from: string, to: string, names: Json): Json {
  return { resourceType: 'Appointment', status: 'booked', start: from, end: to, participant: [{ actor: { reference: 'Patient/ps' }, status: 'accepted' }, ...(names.actor ? [{ actor: { reference: names.actor }, status: 'accepted' }] : [])], ...(names.slot ? { slot: [{ reference: `Slot/${names.slot}` }] } : {}) };
}

let admin: string;
let colleague: string;
let otherAdmin: string;

beforeAll(async () => {
  const { repository, db } = node();
  for (const id of ['d1', 'd2', 't1']) repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id }] });
  repository.update('PractitionerRole', 'role-d2', { resourceType: 'PractitionerRole', id: 'role-d2', practitioner: { reference: 'Practitioner/d2' } });
  for (const id of ['cabinet-s', 'cabinet-t']) repository.update('Organization', id, { resourceType: 'Organization', id, name: id });
  admin = userToken(db, { userId: 'admin-s', roles: 'practitioner admin', practitionerId: 'd1', organizations: 'cabinet-s' });
  colleague = userToken(db, { userId: 'user-d2', roles: 'practitioner', practitionerId: 'd2', organizations: 'cabinet-s' });
  otherAdmin = userToken(db, { userId: 'admin-t', roles: 'practitioner admin', practitionerId: 't1', organizations: 'cabinet-t' });
  expect((await owner('Patient/ps', { method: 'PUT', json: { resourceType: 'Patient', id: 'ps', generalPractitioner: [{ reference: 'Practitioner/d1' }] } })).status).toBe(201);
  const written = await call(admin, 'Schedule/s-d1', { method: 'PUT', json: schedule('s-d1', 'Practitioner/d1', D1_HOURS) });
  expect(written.status, JSON.stringify(written.body)).toBe(201);
});

describe('opening hours on the Schedule', () => {
  it('answers 422 schedule-hours-invalid for malformed hours, pointing at the fault, and writes nothing', async () => {
    for (const [what, parts] of [
      ['a day that is not one', [part('availableTime', { extension: [...days('lundi'), part('allDay', { valueBoolean: true })] })]],
      ['no day', [part('availableTime', { extension: [part('allDay', { valueBoolean: true })] })]],
      ['start after end', [open(['mon'], '12:00:00', '08:00:00')]],
      ['a time that is not one', [open(['mon'], '25:00:00', '26:00:00')]],
      ['no end time', [part('availableTime', { extension: [...days('mon'), part('availableStartTime', { valueTime: '08:00:00' })] })]],
      ['an unknown time zone', [part('timeZone', { valueCode: 'Europe/Atlantis' }), open(['mon'], '08:00:00', '12:00:00')]],
      ['an exception without description', [part('notAvailable', { extension: [part('during', { valuePeriod: { start: '2027-01-04' } })] })]],
      ['an exception ending before it starts', [closed('Congés', { start: '2027-01-08', end: '2027-01-04' })]],
      ['an unknown part', [part('openingDays', { valueString: 'lundi' })]],
    ] as const) {
      const refused = await call(admin, 'Schedule/s-bad', { method: 'PUT', json: schedule('s-bad', 'Practitioner/d1', parts as unknown as Json[]) });
      expect(refused.status, what).toBe(422);
      expect(refusalCode(refused.body), what).toBe('schedule-hours-invalid');
    }
    expect((await owner('Schedule/s-bad')).status).toBe(404);
  });

  it("lets only an admin of the practitioner's practice write their Schedule (403 schedule-admin-only otherwise)", async () => {
    const forD2 = schedule('s-d2', 'PractitionerRole/role-d2', [open(['wed'], '09:00:00', '10:00:00')]);
    const byColleague = await call(colleague, 'Schedule/s-d2', { method: 'PUT', json: forD2 });
    expect(byColleague.status).toBe(403);
    expect(refusalCode(byColleague.body)).toBe('schedule-admin-only');
    const byOtherPractice = await call(otherAdmin, 'Schedule/s-d2', { method: 'PUT', json: forD2 });
    expect(byOtherPractice.status).toBe(403);
    expect((await owner('Schedule/s-d2')).status).toBe(404);
    expect((await call(admin, 'Schedule/s-d2', { method: 'PUT', json: forD2 })).status).toBe(201);
    // Another practice's admin may not take it over by naming their own practitioner either.
    const takeOver = await call(otherAdmin, 'Schedule/s-d2', { method: 'PUT', json: schedule('s-d2', 'Practitioner/t1', []) });
    expect(takeOver.status).toBe(403);
  });
});

describe("the practice's appointment types", () => {
  const types = (concepts: Json[]) => ({ resourceType: 'CodeSystem', id: 'appointment-type-cabinet-s', url: TYPES_URL, status: 'active', content: 'complete', concept: concepts });
  const concept = (code: string, minutes: number, colour: string) => ({ code, display: code, extension: [{ url: DURATION_URL, valueDuration: { value: minutes, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' } }, { url: COLOUR_URL, valueString: colour }] });

  it('are written by the practice admin, each with a duration and a colour (422 otherwise), at their one id', async () => {
    const refusedColour = await call(admin, 'CodeSystem/appointment-type-cabinet-s', { method: 'PUT', json: types([concept('consultation', 20, 'blue')]) });
    expect(refusedColour.status).toBe(422);
    expect(refusalCode(refusedColour.body)).toBe('appointment-types-invalid');
    expect((await call(admin, 'CodeSystem/appointment-type-cabinet-s', { method: 'PUT', json: types([concept('consultation', 0, '#123456')]) })).status).toBe(422);
    const posted = await call(admin, 'CodeSystem', { method: 'POST', json: { ...types([concept('consultation', 20, '#123456')]), id: undefined } });
    expect(posted.status).toBe(422);
    expect((await call(colleague, 'CodeSystem/appointment-type-cabinet-s', { method: 'PUT', json: types([concept('consultation', 20, '#123456')]) })).status).toBe(403);
    expect((await call(otherAdmin, 'CodeSystem/appointment-type-cabinet-s', { method: 'PUT', json: types([concept('consultation', 20, '#123456')]) })).status).toBe(403);
    const saved = await call(admin, 'CodeSystem/appointment-type-cabinet-s', { method: 'PUT', json: types([concept('consultation', 15, '#2f6fb3'), concept('premiere-consultation', 60, '#7b4fb3')]) });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    const read = await call(colleague, 'CodeSystem/$appointment-types?practice=cabinet-s');
    expect(read.body.concept.map((item: Json) => item.code)).toEqual(['consultation', 'premiere-consultation']);
  });

  it('are the default set, with durations and colours, until the admin saves them', async () => {
    const defaults = await call(otherAdmin, 'CodeSystem/$appointment-types?practice=cabinet-t');
    expect(defaults.status).toBe(200);
    expect(defaults.body).toMatchObject({ resourceType: 'CodeSystem', url: 'http://liaison.health/fhir/CodeSystem/appointment-type/cabinet-t' });
    const summary = defaults.body.concept.map((item: Json) => [item.display, item.extension.find((extension: Json) => extension.url === DURATION_URL).valueDuration.value]);
    expect(summary).toEqual([['Consultation', 15], ['Première consultation', 30], ['Visite à domicile', 30], ['Téléconsultation', 15], ['Vaccination', 10]]);
    expect(defaults.body.concept.every((item: Json) => /^#[0-9a-f]{6}$/.test(item.extension.find((extension: Json) => extension.url === COLOUR_URL).valueString))).toBe(true);
    expect((await owner('CodeSystem/appointment-type-cabinet-t')).status).toBe(404);
    expect((await owner('CodeSystem/$appointment-types')).status).toBe(400);
  });
});

describe('free slots derived from the hours', () => {
  it('follow the weekly hours in the schedule time zone, in start order, paged', async () => {
    // Monday 4 January 2027: 08:30–12:00 Paris is 07:30–11:00 UTC; Tuesday 14:00–15:00 is 13:00–14:00 UTC.
    const starts = await startsOf('schedule=Schedule/s-d1&start=ge2027-01-04&start=lt2027-01-06&_count=3');
    expect(starts).toEqual([...['07:30', '08:00', '08:30', '09:00', '09:30', '10:00', '10:30'].map((time) => `2027-01-04T${time}:00Z`), '2027-01-05T13:00:00Z', '2027-01-05T13:30:00Z']);
    // Summer time: 08:30 Paris is 06:30 UTC.
    expect((await startsOf('schedule=Schedule/s-d1&start=ge2027-07-05&start=lt2027-07-06'))[0]).toBe('2027-07-05T06:30:00Z');
    const [first] = await free('schedule=Schedule/s-d1&start=ge2027-01-04&start=lt2027-01-05&_count=1');
    expect(first).toMatchObject({ resourceType: 'Slot', status: 'free', schedule: { reference: 'Schedule/s-d1' }, start: '2027-01-04T07:30:00Z', end: '2027-01-04T08:00:00Z' });
    expect((await owner(`Slot/${first.id}`)).status).toBe(404);
  });

  it('leave out exceptions and holidays', async () => {
    const hours = [...D1_HOURS, closed('Réunion', { start: '2027-01-11T09:30:00+01:00', end: '2027-01-11T12:00:00+01:00' }), closed('Congés', { start: '2027-01-18', end: '2027-01-19' })];
    expect((await call(admin, 'Schedule/s-d1', { method: 'PUT', json: schedule('s-d1', 'Practitioner/d1', hours) })).status).toBe(200);
    expect(await startsOf('schedule=Schedule/s-d1&start=ge2027-01-11&start=lt2027-01-12')).toEqual(['2027-01-11T07:30:00Z', '2027-01-11T08:00:00Z']);
    expect(await startsOf('schedule=Schedule/s-d1&start=ge2027-01-18&start=lt2027-01-20')).toEqual([]);
    expect(await startsOf('schedule=Schedule/s-d1&start=ge2027-01-25&start=lt2027-01-26')).toHaveLength(7);
  });

  it('lose the times a booked appointment overlaps, and get them back when it is cancelled', async () => {
    const query = 'schedule.actor=Practitioner/d1&start=ge2027-02-01&start=lt2027-02-02';
    expect(await startsOf(query)).toHaveLength(7);
    const booked = await owner('Appointment', { method: 'POST', json: appointment('2027-02-01T08:15:00Z', '2027-02-01T08:45:00Z', { actor: 'Practitioner/d1' }) });
    expect(booked.status).toBe(201);
    expect(await startsOf(query)).toEqual(['07:30', '09:00', '09:30', '10:00', '10:30'].map((time) => `2027-02-01T${time}:00Z`));
    const cancelled = await owner(`Appointment/${booked.body.id}`, { method: 'PUT', json: { ...booked.body, status: 'cancelled' } });
    expect(cancelled.status).toBe(200);
    expect(await startsOf(query)).toHaveLength(7);
  });

  it('are booked like a time: the slot is stored busy, the no-overlap rule holds both ways, a cancel frees it', async () => {
    const query = 'schedule=s-d1&start=ge2027-02-08&start=lt2027-02-09';
    const [slot] = await free(`${query}&_count=1`);
    // Named only through the slot: the schedule's practitioner is taken all the same.
    const booked = await owner('Appointment', { method: 'POST', json: appointment(slot.start, slot.end, { slot: slot.id }) });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    expect((await owner(`Slot/${slot.id}`)).body).toMatchObject({ status: 'busy', start: slot.start, schedule: { reference: 'Schedule/s-d1' } });
    expect((await startsOf(query))[0]).not.toBe(slot.start);
    const overIt = await owner('Appointment', { method: 'POST', json: appointment(slot.start, slot.end, { actor: 'Practitioner/d1' }) });
    expect(overIt.status).toBe(409);
    const again = await owner('Appointment', { method: 'POST', json: appointment(slot.start, slot.end, { slot: slot.id }) });
    expect(again.status).toBe(409);
    // A derived slot over a time already booked directly is refused too.
    const [later] = await free(`schedule=s-d1&start=ge2027-02-08T10:30:00Z&start=lt2027-02-09&_count=1`);
    expect((await owner('Appointment', { method: 'POST', json: appointment(later.start, later.end, { actor: 'Practitioner/d1' }) })).status).toBe(201);
    expect((await owner('Appointment', { method: 'POST', json: appointment(later.start, later.end, { slot: later.id }) })).status).toBe(409);
    // A slot id the hours never made is unknown.
    expect((await owner('Appointment', { method: 'POST', json: appointment(slot.start, slot.end, { slot: '00000000-0000-5000-8000-000000000000' }) })).status).toBe(422);
    expect((await owner(`Appointment/${booked.body.id}`, { method: 'PUT', json: { ...booked.body, status: 'cancelled' } })).status).toBe(200);
    expect((await owner(`Slot/${slot.id}`)).body.status).toBe('free');
    expect((await startsOf(query))[0]).toBe(slot.start);
    expect((await free(query)).filter((found) => found.id === slot.id)).toHaveLength(1);
  });

  it('are searched by practitioner (through their role too), by appointment type, and refuse what they cannot answer', async () => {
    expect(await startsOf('schedule.actor=Practitioner/d2&start=ge2027-01-06&start=lt2027-01-07')).toEqual(['2027-01-06T08:00:00Z', '2027-01-06T08:15:00Z', '2027-01-06T08:30:00Z', '2027-01-06T08:45:00Z']);
    expect(await startsOf('schedule.actor=PractitionerRole/role-d2&start=ge2027-01-06&start=lt2027-01-07')).toHaveLength(4);
    expect(await startsOf('schedule.actor=Practitioner/d1&start=ge2027-01-06&start=lt2027-01-07')).toEqual([]);
    // The practice's "Première consultation" lasts 60 minutes: slots of that length, a step apart, within the hours.
    const long = await free(`schedule.actor=Practitioner/d2&start=ge2027-01-06&start=lt2027-01-07&appointment-type=${TYPES_URL}|premiere-consultation`);
    expect(long.map((slot) => [slot.start, slot.end])).toEqual([['2027-01-06T08:00:00Z', '2027-01-06T09:00:00Z']]);
    expect(long[0].appointmentType.coding[0]).toMatchObject({ system: TYPES_URL, code: 'premiere-consultation' });
    expect(await startsOf(`schedule.actor=Practitioner/d2&start=ge2027-01-06&start=lt2027-01-07&appointment-type=unknown-type`)).toEqual([]);
    // A typed slot is booked like any other.
    const typed = await owner('Appointment', { method: 'POST', json: { ...appointment(long[0].start, long[0].end, { slot: long[0].id }), appointmentType: long[0].appointmentType } });
    expect(typed.status, JSON.stringify(typed.body)).toBe(201);
    expect(await startsOf('schedule.actor=Practitioner/d2&start=ge2027-01-06&start=lt2027-01-07')).toEqual([]);
    const unsupported = await owner('Slot?status=free&identifier=x');
    expect(unsupported.status).toBe(400);
    expect(refusalCode(unsupported.body)).toBe('free-slot-search-unsupported');
  });
});

describe('schedules that offer nothing', () => {
  it('an inactive one, one past its planning horizon, and one whose hours came unchecked by sync: no slots, no failed search', async () => {
    const { repository } = node();
    repository.update('Schedule', 's-off', { ...schedule('s-off', 'Practitioner/t1', D1_HOURS), active: false });
    repository.update('Schedule', 's-horizon', { ...schedule('s-horizon', 'Practitioner/t1', D1_HOURS), planningHorizon: { end: '2027-01-05T00:00:00Z' } });
    repository.update('Schedule', 's-broken', schedule('s-broken', 'Practitioner/t1', [open(['lundi'], '08:00:00', '12:00:00')]));
    const range = 'start=ge2027-01-04&start=lt2027-01-06';
    expect(await startsOf(`schedule=s-off&${range}`)).toEqual([]);
    expect(await startsOf(`schedule=s-horizon&${range}`)).toEqual(['07:30', '08:00', '08:30', '09:00', '09:30', '10:00', '10:30'].map((time) => `2027-01-04T${time}:00Z`));
    expect(await startsOf(`schedule=s-broken&${range}`)).toEqual([]);
    // Every schedule at once: the broken one is left out, the others answer.
    expect((await startsOf(range)).length).toBeGreaterThan(7);
  });
});

describe('two nodes', () => {
  let other: TestNode;
  beforeAll(async () => {
    other = await startTestNode();
  });
  afterAll(async () => {
    await other?.stop();
  });

  it('derive the same slot ids from the same hours', async () => {
    other.repository.update('Practitioner', 'd1', { resourceType: 'Practitioner', id: 'd1' });
    expect((await call(other.token, 'Schedule/s-d1', { method: 'PUT', json: schedule('s-d1', 'Practitioner/d1', D1_HOURS) }, other)).status).toBe(201);
    const query = 'schedule=Schedule/s-d1&start=ge2027-03-01&start=lt2027-03-03';
    const here = await free(query);
    const there = await free(query, other);
    expect(here.length).toBe(9);
    expect(there.map((slot) => [slot.id, slot.start])).toEqual(here.map((slot) => [slot.id, slot.start]));
  });
});
