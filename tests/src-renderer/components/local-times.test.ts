// @vitest-environment happy-dom
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import BackupPanel from '../../../src-renderer/components/BackupPanel.vue';
import CareTimeline from '../../../src-renderer/components/CareTimeline.vue';
import ConflictsPanel from '../../../src-renderer/components/ConflictsPanel.vue';
import DocumentsPage from '../../../src-renderer/pages/DocumentsPage.vue';
import { toTimeline } from '../../../src-renderer/stores/patients';
import { bundle, type FakeNode, loggedIn, mountInApp, screenNode, settle } from '../fake-node';
import { bookingConflictParameters, conflictParameters } from '../sync-fixtures';

/**
 * Times in the user's zone (issue 25): on a computer set to Paris, every instant the node gives in UTC is shown as
 * Paris time with French formats — an appointment at 10:00Z reads 11:00 in winter — and never as an ISO string.
 */

const ISO_OR_UTC = /\d{4}-\d{2}-\d{2}T|\d{2}:\d{2}(:\d{2})?Z\b|UTC/;
let zone: string | undefined;
beforeAll(() => {
  // Node reads TZ again when it is set: Date and Intl follow.
  zone = process.env.TZ;
  process.env.TZ = 'Europe/Paris';
});
afterAll(() => {
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

let node: FakeNode;
beforeEach(() => {
  node = screenNode();
});
afterEach(() => vi.unstubAllGlobals());

describe('on a computer in Paris', () => {
  it('the timeline shows a 10:00Z appointment at 11:00 and a summer encounter at 07:00Z at 09:00', async () => {
    const items = toTimeline([
      { resourceType: 'Appointment', id: 'a', status: 'booked', start: '2026-12-08T10:00:00Z', participant: [] } as never,
      { resourceType: 'Encounter', id: 'e', status: 'finished', period: { start: '2025-06-02T07:00:00Z' } } as never,
    ]);
    const { wrapper } = await mountInApp(CareTimeline, { props: { items }, pinia: await loggedIn(node) });
    expect(wrapper.findAll('time').map((time) => time.text())).toEqual(['mar. 8 déc. 2026, 11:00', 'lun. 2 juin 2025, 09:00']);
  });

  it('the inbox and outbox show when a message was sent and a sending asked in Paris time', async () => {
    node.on('GET', /^\/fhir\/Communication\?recipient=/, { json: bundle({ resourceType: 'Communication', id: 'm1', status: 'completed', sent: '2026-12-07T08:15:00Z', payload: [] }) });
    const inbox = (await mountInApp(DocumentsPage, { pinia: await loggedIn(node), path: '/documents?tab=inbox' })).wrapper;
    await settle();
    expect(inbox.find('.items > li').text()).toContain('lun. 7 déc. 2026, 09:15');
    expect(inbox.text()).not.toMatch(ISO_OR_UTC);
    inbox.unmount();

    node.on('GET', /^\/fhir\/CommunicationRequest\?requester=/, { json: bundle({ resourceType: 'CommunicationRequest', id: 'cr1', status: 'active', authoredOn: '2026-07-01T22:30:00Z', recipient: [], payload: [] }) });
    node.on('GET', /^\/fhir\/Communication\?based-on=/, { json: bundle() });
    const outbox = (await mountInApp(DocumentsPage, { pinia: await loggedIn(node), path: '/documents?tab=outbox' })).wrapper;
    await settle();
    // 22:30 UTC on 1 July is already 2 July in Paris.
    expect(outbox.find('.items > li').text()).toContain('jeu. 2 juil. 2026, 00:30');
    expect(outbox.text()).not.toMatch(ISO_OR_UTC);
  });

  it('Réglages shows a conflict’s and a backup’s times in Paris time', async () => {
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: conflictParameters() });
    const conflicts = (await mountInApp(ConflictsPanel, { pinia: await loggedIn(node) })).wrapper;
    await settle();
    expect(conflicts.find('h3').text()).toContain('depuis le ven. 20 nov. 2026, 11:00');
    expect(conflicts.text()).toContain('modifiée le ven. 20 nov. 2026, 10:58');
    expect(conflicts.text()).not.toMatch(ISO_OR_UTC);

    // A booking conflict at 23:30Z is on the next day in Paris: its times and its link to the agenda say so.
    const late = bookingConflictParameters();
    const appointment = late.parameter![0].part!.find((part) => part.name === 'appointment')!;
    appointment.part!.find((part) => part.name === 'start')!.valueInstant = '2026-12-08T23:30:00Z';
    appointment.part!.find((part) => part.name === 'end')!.valueInstant = '2026-12-08T23:50:00Z';
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: late });
    const booking = (await mountInApp(ConflictsPanel, { pinia: await loggedIn(node) })).wrapper;
    await settle();
    const first = booking.find('[data-booking-conflict] li');
    expect(first.text()).toContain('mer. 9 déc. 2026, 00:30 – 00:50');
    expect(first.find('a').attributes('href')).toBe('/appointments?appointment=ap-1&date=2026-12-09');
    expect(booking.find('[data-booking-conflict]').text()).not.toMatch(ISO_OR_UTC);

    node.on('GET', /^\/admin\/backup\/daily$/, { json: { folder: '/media/cle', last: { at: '2026-12-07T02:00:00.000Z', ok: true, file: '/media/cle/liaison.lbak', bytes: 1 } } });
    const backup = (await mountInApp(BackupPanel, { pinia: await loggedIn(node) })).wrapper;
    await settle();
    expect(backup.find('[data-backup-last]').text()).toContain('lun. 7 déc. 2026, 03:00');
  });
});
