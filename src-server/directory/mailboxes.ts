import { MSSANTE_EXTENSION } from './codes';
import type { Resource } from './person-resources';

/**
 * MSSanté mailboxes as `telecom` entries (system email) marked with the ANS mailbox extension. Two imports write
 * `telecom`: the activity file (phones, e-mail of the site) and the MSSanté file (mailboxes). The mark is what lets
 * each one replace its own entries and keep the other's.
 */

export type ContactPoint = Record<string, unknown> & { system?: string; value?: string };

export function mailboxPoint(address: string, mailboxType: string): ContactPoint {
  return {
    extension: [{ url: MSSANTE_EXTENSION, extension: [{ url: 'type', valueCode: mailboxType }] }],
    system: 'email',
    value: address,
    use: 'work',
  };
}

export const isMailbox = (point: ContactPoint) =>
  Array.isArray(point.extension) && point.extension.some((extension: { url?: string }) => extension.url === MSSANTE_EXTENSION);

/** The mailboxes a stored version holds (cheap when it holds none: no parse). */
export function mailboxesIn(json: string | undefined): ContactPoint[] {
  if (!json || !json.includes(MSSANTE_EXTENSION)) return [];
  const telecom = (JSON.parse(json) as { telecom?: ContactPoint[] }).telecom ?? [];
  return telecom.filter(isMailbox);
}

/** `resource` with exactly `mailboxes` as its mailboxes, its other telecom entries kept in order. */
export function withMailboxes(resource: Resource, mailboxes: ContactPoint[]): Resource {
  const others = ((resource.telecom as ContactPoint[] | undefined) ?? []).filter((point) => !isMailbox(point));
  const copy: Resource = { ...resource };
  // Assigning an existing key keeps its place: the same inputs always give the same JSON text.
  if (others.length + mailboxes.length > 0) copy.telecom = [...others, ...mailboxes];
  else delete copy.telecom;
  return copy;
}
