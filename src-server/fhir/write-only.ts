import { badRequest } from './outcome';

/**
 * Elements a client writes that the node keeps outside the resource: a Subscription's `channel.header`, where the
 * endpoint's own credentials go. They are never in a stored version, so never in a read, search, history or sync,
 * and versions stay the same bytes on every node. The API takes them out of the body before the write and hands them
 * to the write rules of the type (PendingWrite.writeOnly), which keep them; the store refuses a body that still has
 * them (a version from a node that kept them in the body, a rule that forgot them).
 */

type JsonObject = Record<string, unknown>;

/** What was taken out of a body: each element as the client sent it. */
export interface WriteOnlyElements {
  /** `Subscription.channel.header`. */
  channelHeader?: unknown;
}

/** The body without its write-only elements, and those (undefined when it had none). */
export function takeWriteOnly(resourceType: string, resource: JsonObject): { resource: JsonObject; writeOnly?: WriteOnlyElements } {
  const channel = resourceType === 'Subscription' ? resource.channel : undefined;
  if (typeof channel !== 'object' || channel === null || !('header' in channel)) return { resource };
  const { header, ...rest } = channel as JsonObject;
  return { resource: { ...resource, channel: rest }, writeOnly: { channelHeader: header } };
}

export function refuseWriteOnly(resourceType: string, resource: JsonObject): void {
  if (takeWriteOnly(resourceType, resource).writeOnly) {
    throw badRequest('write-only-element', `${resourceType}.channel.header is kept by the node that received it, outside the resource: a stored version never carries it`, `${resourceType}.channel.header`);
  }
}
