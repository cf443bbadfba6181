import { beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { clientToken, userToken } from '../../helpers/users';

/**
 * The Appointment API on a real node over HTTP: booking, moving and cancelling, no double booking of a practitioner
 * or a slot (also under 20 concurrent requests and inside a transaction Bundle), slots that follow their
 * appointments in the same transaction, the access rules, and the free-slot search.
 */

type Json = Record<string, any>;

const node = useTestNode();
const PRACTICE_A = 'cabinet-a';
const PRACTICE_B = 'cabinet-b';

async function call(token: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const response = await fhirFetch(node().fhir, token, path, init);
  return { status: response.status, body: (await response.json()) as Json };
}
const owner = (path: string, init: RequestInit & { json?: unknown } = {}) => call(node().token, path, init);

/** A consultation of `practitioner` on 2026-12-01 between two times (HH:MM, UTC). */
function appointment(practitioner: string, from: string, to: string, more: Json = {}): Json {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    start: `2026-12-01T${from}:00Z`,
    end: `2026-12-01T${to}:00Z`,
    participant: [
      { actor: { reference: 'Patient/pa' }, status: 'accepted' },
      { actor: { reference: `Practitioner/${practitioner}` }, status: 'accepted' },
    ],
    ...more,
  };
}

async function book(resource: Json, token = node().token): Promise<{ status: number; body: Json }> {
  return call(token, 'Appointment', { method: 'POST', json: resource });
}

async function slot(schedule: string, day: string, from: string, to: string, status = 'free'): Promise<string> {
  const created = await owner('Slot', { method: 'POST', json: { resourceType: 'Slot', schedule: { reference: `Schedule/${schedule}` }, status, start: `${day}T${from}:00Z`, end: `${day}T${to}:00Z` } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

const slotStatus = async (id: string) => (await owner(`Slot/${id}`)).body.status as string;
const diagnostics = (body: Json) => (body.issue as Json[]).map((issue) => issue.diagnostics).join(' ');

beforeAll(async () => {
  const { repository } = node();
  for (const id of ['a1', 'a2', 'b1']) repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id }] });
  repository.update('PractitionerRole', 'role-a2', { resourceType: 'PractitionerRole', id: 'role-a2', practitioner: { reference: 'Practitioner/a2' } });
  repository.update('Organization', PRACTICE_A, { resourceType: 'Organization', id: PRACTICE_A, name: 'Cabinet A' });
  repository.update('Organization', PRACTICE_B, { resourceType: 'Organization', id: PRACTICE_B, name: 'Cabinet B' });
  for (const [id, gp] of [['pa', 'a1'], ['pb', 'b1']]) {
    expect((await owner(`Patient/${id}`, { method: 'PUT', json: { resourceType: 'Patient', id, generalPractitioner: [{ reference: `Practitioner/${gp}` }] } })).status).toBe(201);
  }
  // a3 works through a role; their schedule names the role.
  repository.update('Practitioner', 'a3', { resourceType: 'Practitioner', id: 'a3', name: [{ family: 'a3' }] });
  repository.update('PractitionerRole', 'role-a3', { resourceType: 'PractitionerRole', id: 'role-a3', practitioner: { reference: 'Practitioner/a3' } });
  expect((await owner('Schedule/s-role-a3', { method: 'PUT', json: { resourceType: 'Schedule', id: 's-role-a3', actor: [{ reference: 'PractitionerRole/role-a3' }] } })).status).toBe(201);
  for (const who of ['a1', 'a2', 'b1']) {
    expect((await owner(`Schedule/s-${who}`, { method: 'PUT', json: { resourceType: 'Schedule', id: `s-${who}`, actor: [{ reference: `Practitioner/${who}` }] } })).status).toBe(201);
  }
});

describe('booking', () => {
  it('refuses an overlapping booking of the same practitioner with a 409 naming the appointment it collides with', async () => {
    const first = await book(appointment('a1', '09:00', '09:30'));
    expect(first.status).toBe(201);
    const overlapping = await book(appointment('a1', '09:15', '09:45'));
    expect(overlapping.status).toBe(409);
    expect(overlapping.body.resourceType).toBe('OperationOutcome');
    expect(overlapping.body.issue[0].code).toBe('conflict');
    expect(diagnostics(overlapping.body)).toContain(`Appointment/${first.body.id}`);
    expect(diagnostics(overlapping.body)).toContain('Practitioner/a1');
    expect(diagnostics(overlapping.body)).toContain('2026-12-01T09:00:00Z');
    // Inside it, around it: both collide. Back to back, another practitioner, or a non-blocking status: no conflict.
    expect((await book(appointment('a1', '09:10', '09:20'))).status).toBe(409);
    expect((await book(appointment('a1', '08:00', '10:00'))).status).toBe(409);
    expect((await book(appointment('a1', '09:30', '10:00'))).status).toBe(201);
    expect((await book(appointment('b1', '09:00', '09:30', { participant: [{ actor: { reference: 'Practitioner/b1' }, status: 'accepted' }] }))).status).toBe(201);
    for (const status of ['proposed', 'pending', 'cancelled']) expect((await book(appointment('a1', '09:00', '09:30', { status }))).status, status).toBe(201);
  });

  it('checks a practitioner named through a PractitionerRole, and an absolute reference to this node', async () => {
    expect((await book(appointment('a2', '14:00', '14:30'))).status).toBe(201);
    const throughRole = appointment('a2', '14:20', '14:40', { participant: [{ actor: { reference: 'PractitionerRole/role-a2' }, status: 'accepted' }] });
    const refused = await book(throughRole);
    expect(refused.status).toBe(409);
    expect(diagnostics(refused.body)).toContain('Practitioner/a2');
    const absolute = appointment('a2', '14:10', '14:20', { participant: [{ actor: { reference: `${node().fhir}/Practitioner/a2` }, status: 'accepted' }] });
    expect((await book(absolute)).status).toBe(409);
  });

  it('moves an appointment (excluding itself from the check) and frees the time by cancelling it', async () => {
    const created = await book(appointment('a1', '11:00', '11:30'));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const moved = await owner(`Appointment/${id}`, { method: 'PUT', json: { ...appointment('a1', '11:15', '11:45'), id } });
    expect(moved.status).toBe(200);
    expect((await book(appointment('a1', '11:00', '11:15'))).status).toBe(201);
    // Moving onto another appointment collides.
    const ontoOther = await owner(`Appointment/${id}`, { method: 'PUT', json: { ...appointment('a1', '11:00', '11:30'), id } });
    expect(ontoOther.status).toBe(409);
    expect((await owner(`Appointment/${id}`)).body.start).toBe('2026-12-01T11:15:00Z');
    expect((await book(appointment('a1', '11:30', '12:00'))).status).toBe(409);
    const cancelled = await owner(`Appointment/${id}`, { method: 'PUT', json: { ...appointment('a1', '11:15', '11:45'), id, status: 'cancelled' } });
    expect(cancelled.status).toBe(200);
    expect((await book(appointment('a1', '11:30', '12:00'))).status).toBe(201);
    // Cancelled is an update, never a delete.
    expect((await owner(`Appointment/${id}`, { method: 'DELETE' })).status).toBe(405);
  });

  it('answers 422 for a booked appointment without both times, ending before it starts, or longer than a day', async () => {
    const { start: _start, ...withoutStart } = appointment('a1', '16:00', '16:30');
    const { end: _end, ...withoutEnd } = appointment('a1', '16:00', '16:30');
    for (const [what, resource] of [
      ['no start', withoutStart],
      ['no end', withoutEnd],
      ['end before start', appointment('a1', '16:30', '16:00')],
      ['empty', appointment('a1', '16:00', '16:00')],
      ['two days', { ...appointment('a1', '16:00', '16:30'), end: '2026-12-03T16:30:00Z' }],
    ] as const) {
      const refused = await book(resource as Json);
      expect(refused.status, what).toBe(422);
      expect(refused.body.resourceType).toBe('OperationOutcome');
    }
    // A proposal may still lack its times (invariant app-3).
    const { start: _s, end: _e, ...untimed } = appointment('a1', '16:00', '16:30', { status: 'proposed' });
    expect((await book(untimed)).status).toBe(201);
  });
});

describe('whose time: every way of naming the practitioner counts, for the new appointment and the existing ones', () => {
  /** An appointment of a3 on 2026-12-09, naming them only as `actor` or only through the slots. */
  const on9th = (from: string, to: string, names: { actor?: string; slots?: string[] }) => ({
    resourceType: 'Appointment',
    status: 'booked',
    start: `2026-12-09T${from}:00Z`,
    end: `2026-12-09T${to}:00Z`,
    participant: [{ actor: { reference: 'Patient/pa' }, status: 'accepted' }, ...(names.actor ? [{ actor: { reference: names.actor }, status: 'accepted' }] : [])],
    ...(names.slots ? { slot: names.slots.map((id) => ({ reference: `Slot/${id}` })) } : {}),
  });

  it('refuses a booking through the Practitioner over one through the PractitionerRole, and the reverse', async () => {
    expect((await book(on9th('08:00', '08:30', { actor: 'PractitionerRole/role-a3' }))).status).toBe(201);
    const overRole = await book(on9th('08:15', '08:45', { actor: 'Practitioner/a3' }));
    expect(overRole.status).toBe(409);
    expect(diagnostics(overRole.body)).toContain('Practitioner/a3');
    expect((await book(on9th('09:00', '09:30', { actor: 'Practitioner/a3' }))).status).toBe(201);
    expect((await book(on9th('09:10', '09:20', { actor: 'PractitionerRole/role-a3' }))).status).toBe(409);
  });

  it('refuses a booking through a Slot of their Schedule over one naming them, and the reverse', async () => {
    expect((await book(on9th('10:00', '10:30', { actor: 'Practitioner/a3' }))).status).toBe(201);
    const slotOver = await slot('s-role-a3', '2026-12-09', '10:15', '10:45');
    const throughSlot = await book(on9th('10:15', '10:45', { slots: [slotOver] }));
    expect(throughSlot.status).toBe(409);
    expect(diagnostics(throughSlot.body)).toContain('Practitioner/a3');
    expect(await slotStatus(slotOver)).toBe('free');
    // Booked through a slot only (the schedule names the role), the time is theirs for the other ways.
    const slotFirst = await slot('s-role-a3', '2026-12-09', '11:00', '11:30');
    expect((await book(on9th('11:00', '11:30', { slots: [slotFirst] }))).status).toBe(201);
    expect((await book(on9th('11:15', '11:45', { actor: 'Practitioner/a3' }))).status).toBe(409);
    expect((await book(on9th('11:15', '11:45', { actor: 'PractitionerRole/role-a3' }))).status).toBe(409);
    expect((await book(on9th('11:30', '12:00', { actor: 'PractitionerRole/role-a3' }))).status).toBe(201);
  });

  it('refuses a move onto a time taken another way, and lets the moved-away time go', async () => {
    const taken = await slot('s-role-a3', '2026-12-09', '14:00', '14:30');
    expect((await book(on9th('14:00', '14:30', { slots: [taken] }))).status).toBe(201);
    const booked = await book(on9th('15:00', '15:30', { actor: 'PractitionerRole/role-a3' }));
    expect(booked.status).toBe(201);
    const id = booked.body.id as string;
    const onto = await owner(`Appointment/${id}`, { method: 'PUT', json: { ...on9th('14:15', '14:45', { actor: 'Practitioner/a3' }), id } });
    expect(onto.status).toBe(409);
    const moved = await owner(`Appointment/${id}`, { method: 'PUT', json: { ...on9th('15:30', '16:00', { actor: 'Practitioner/a3' }), id } });
    expect(moved.status).toBe(200);
    expect((await book(on9th('15:00', '15:30', { actor: 'PractitionerRole/role-a3' }))).status).toBe(201);
  });
});

describe('slots', () => {
  it('marks the booked slot busy in the same transaction and refuses a second booking of it with a 409 naming it', async () => {
    const id = await slot('s-b1', '2026-12-02', '09:00', '09:15');
    const booked = await book({ ...appointment('b1', '09:00', '09:15'), start: '2026-12-02T09:00:00Z', end: '2026-12-02T09:15:00Z', slot: [{ reference: `Slot/${id}` }] });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    expect(await slotStatus(id)).toBe('busy');
    // Another practitioner's appointment (no overlap of people) still cannot take the busy slot.
    const again = await book({ ...appointment('a1', '09:00', '09:15'), start: '2026-12-02T09:00:00Z', end: '2026-12-02T09:15:00Z', slot: [{ reference: `Slot/${id}` }] });
    expect(again.status).toBe(409);
    expect(diagnostics(again.body)).toContain(`Slot/${id}`);
    expect(diagnostics(again.body)).toContain('2026-12-02T09:00:00Z');
    // The slot cannot be freed under its appointment; cancelling the appointment frees it.
    const freed = await owner(`Slot/${id}`, { method: 'PUT', json: { ...(await owner(`Slot/${id}`)).body, status: 'free' } });
    expect(freed.status).toBe(409);
    expect(diagnostics(freed.body)).toContain(`Appointment/${booked.body.id}`);
    const cancelled = await owner(`Appointment/${booked.body.id}`, { method: 'PUT', json: { ...booked.body, status: 'cancelled' } });
    expect(cancelled.status).toBe(200);
    expect(await slotStatus(id)).toBe('free');
    const searched = await owner(`Appointment?slot=Slot/${id}`);
    expect(searched.body.entry.map((entry: Json) => entry.resource.id)).toEqual([booked.body.id]);
  });

  it('leaves the slot free when the booking is refused', async () => {
    const taken = await book(appointment('b1', '15:00', '15:30', { participant: [{ actor: { reference: 'Practitioner/b1' }, status: 'accepted' }] }));
    expect(taken.status).toBe(201);
    const id = await slot('s-b1', '2026-12-01', '15:00', '15:30');
    const refused = await book({ ...appointment('b1', '15:00', '15:30'), slot: [{ reference: `Slot/${id}` }] });
    expect(refused.status).toBe(409);
    expect(await slotStatus(id)).toBe('free');
  });

  it('moves an appointment from one slot to another, freeing the first', async () => {
    const first = await slot('s-b1', '2026-12-03', '10:00', '10:15');
    const second = await slot('s-b1', '2026-12-03', '10:15', '10:30');
    const at = (from: string, to: string, slotId: string) => ({ ...appointment('b1', from, to), start: `2026-12-03T${from}:00Z`, end: `2026-12-03T${to}:00Z`, slot: [{ reference: `Slot/${slotId}` }] });
    const booked = await book(at('10:00', '10:15', first));
    expect(booked.status).toBe(201);
    const moved = await owner(`Appointment/${booked.body.id}`, { method: 'PUT', json: { ...at('10:15', '10:30', second), id: booked.body.id } });
    expect(moved.status).toBe(200);
    expect([await slotStatus(first), await slotStatus(second)]).toEqual(['free', 'busy']);
    // Two slots back to back make one appointment.
    const both = await owner(`Appointment/${booked.body.id}`, { method: 'PUT', json: { ...at('10:00', '10:30', first), slot: [{ reference: `Slot/${first}` }, { reference: `Slot/${second}` }], id: booked.body.id } });
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    expect([await slotStatus(first), await slotStatus(second)]).toEqual(['busy', 'busy']);
  });

  it('answers 422 when the appointment and its slots disagree on the time, or the slot does not exist', async () => {
    const id = await slot('s-b1', '2026-12-04', '10:00', '10:15');
    const outside = await book({ ...appointment('b1', '11:00', '11:15'), start: '2026-12-04T11:00:00Z', end: '2026-12-04T11:15:00Z', slot: [{ reference: `Slot/${id}` }] });
    expect(outside.status).toBe(422);
    const longer = await book({ ...appointment('b1', '10:00', '10:30'), start: '2026-12-04T10:00:00Z', end: '2026-12-04T10:30:00Z', slot: [{ reference: `Slot/${id}` }] });
    expect(longer.status).toBe(422);
    expect((await book({ ...appointment('b1', '10:00', '10:15'), slot: [{ reference: 'Slot/nowhere' }] })).status).toBe(422);
    expect(await slotStatus(id)).toBe('free');
    const backwards = await owner('Slot', { method: 'POST', json: { resourceType: 'Slot', schedule: { reference: 'Schedule/s-b1' }, status: 'free', start: '2026-12-04T10:00:00Z', end: '2026-12-04T09:00:00Z' } });
    expect(backwards.status).toBe(422);
  });
});

describe('concurrency', () => {
  it('lets exactly one of 20 concurrent bookings of the same time win', async () => {
    const id = await slot('s-a1', '2026-12-05', '09:00', '09:15');
    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        // Half of them ask for the slot, half for the same time of the practitioner without it.
        book({ ...appointment('a1', '09:00', '09:15'), start: '2026-12-05T09:00:00Z', end: '2026-12-05T09:15:00Z', ...(index % 2 ? { slot: [{ reference: `Slot/${id}` }] } : {}) }),
      ),
    );
    const statuses = attempts.map((attempt) => attempt.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    const stored = await owner('Appointment?practitioner=a1&date=2026-12-05&_total=accurate');
    expect(stored.body.total).toBe(1);
  });

  it('refuses a transaction Bundle whose entries collide with each other, writing none of them', async () => {
    const bundle = await owner('', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { ...appointment('a1', '08:00', '08:30'), start: '2026-12-06T08:00:00Z', end: '2026-12-06T08:30:00Z' }, request: { method: 'POST', url: 'Appointment' } },
          { resource: { ...appointment('a1', '08:15', '08:45'), start: '2026-12-06T08:15:00Z', end: '2026-12-06T08:45:00Z' }, request: { method: 'POST', url: 'Appointment' } },
        ],
      },
    });
    expect(bundle.status).toBe(409);
    expect((await owner('Appointment?practitioner=a1&date=2026-12-06&_total=accurate')).body.total).toBe(0);
  });
});

describe('access', () => {
  it('refuses a user who books another practice\'s practitioner for a patient they do not follow, leaving the slot free', async () => {
    const a1 = userToken(node().db, { userId: 'user-a1', roles: 'practitioner', practitionerId: 'a1', organizations: PRACTICE_A });
    const id = await slot('s-b1', '2026-12-07', '09:00', '09:30');
    const forB = { ...appointment('b1', '09:00', '09:30'), start: '2026-12-07T09:00:00Z', end: '2026-12-07T09:30:00Z', participant: [{ actor: { reference: 'Patient/pb' }, status: 'accepted' }, { actor: { reference: 'Practitioner/b1' }, status: 'accepted' }], slot: [{ reference: `Slot/${id}` }] };
    const refused = await book(forB, a1);
    expect(refused.status).toBe(403);
    expect(await slotStatus(id)).toBe('free');
    expect((await owner('Appointment?practitioner=b1&date=2026-12-07&_total=accurate')).body.total).toBe(0);
    // For their own patient, with the specialist of practice B: allowed (they see the appointment).
    const forOwnPatient = { ...forB, participant: [{ actor: { reference: 'Patient/pa' }, status: 'accepted' }, { actor: { reference: 'Practitioner/b1' }, status: 'accepted' }] };
    expect((await book(forOwnPatient, a1)).status).toBe(201);
    expect(await slotStatus(id)).toBe('busy');
  });

  it('does not name an appointment the caller may not see in the conflict', async () => {
    const hidden = await book(appointment('b1', '17:00', '17:30', { participant: [{ actor: { reference: 'Patient/pb' }, status: 'accepted' }, { actor: { reference: 'Practitioner/b1' }, status: 'accepted' }] }));
    expect(hidden.status).toBe(201);
    const a1 = userToken(node().db, { userId: 'user-a1-bis', roles: 'practitioner', practitionerId: 'a1', organizations: PRACTICE_A });
    const refused = await book(appointment('b1', '17:00', '17:30'), a1);
    expect(refused.status).toBe(409);
    expect(diagnostics(refused.body)).not.toContain(hidden.body.id);
    expect(diagnostics(refused.body)).toContain('Practitioner/b1');
  });

  it('needs APPOINTMENT_CREATE to book and APPOINTMENT_UPDATE to move or cancel', async () => {
    const creator = await clientToken(node(), { scopes: ['APPOINTMENT_CREATE', 'APPOINTMENT_READ'] });
    const created = await book(appointment('a1', '18:00', '18:15'), creator);
    expect(created.status).toBe(201);
    const cancel = await call(creator, `Appointment/${created.body.id}`, { method: 'PUT', json: { ...created.body, status: 'cancelled' } });
    expect(cancel.status).toBe(403);
    expect(diagnostics(cancel.body)).toContain('APPOINTMENT_UPDATE');
    const reader = await clientToken(node(), { scopes: ['APPOINTMENT_READ'] });
    expect((await book(appointment('a1', '18:30', '18:45'), reader)).status).toBe(403);
  });
});

describe('free-slot search', () => {
  it('finds a practitioner\'s free slots in a date range, paged in start order', async () => {
    const week: string[] = [];
    for (const day of ['2026-12-14', '2026-12-15', '2026-12-16']) for (const from of ['10:00', '09:00']) week.push(await slot('s-a2', day, from, from.replace(':00', ':30')));
    await slot('s-a2', '2026-12-13', '09:00', '09:30');
    await slot('s-a2', '2026-12-21', '09:00', '09:30');
    await slot('s-a2', '2026-12-15', '11:00', '11:30', 'busy');
    await slot('s-b1', '2026-12-15', '09:00', '09:30');
    const starts: string[] = [];
    let next: string | undefined = 'Slot?schedule.actor=Practitioner/a2&status=free&start=ge2026-12-14&start=lt2026-12-21&_sort=start&_count=4';
    while (next) {
      const page: Json = (await owner(next)).body;
      expect(page.resourceType).toBe('Bundle');
      starts.push(...(page.entry ?? []).map((entry: Json) => entry.resource.start));
      next = page.link.find((link: Json) => link.relation === 'next')?.url;
    }
    expect(starts).toEqual(['14', '15', '16'].flatMap((day) => [`2026-12-${day}T09:00:00Z`, `2026-12-${day}T10:00:00Z`]));
    expect(week).toHaveLength(6);
  });
});
