import type { Channel } from '../channels/channel';
import type { NetworkRecipients } from './network-recipients';
import { partiesOf } from './references';

/**
 * Delivery to a user or practice of this node or of an office peer: nothing travels but by sync, the Communication the
 * outbox completes is the inbox entry (its recipients' reach sees it, and the document through it; on a peer, once
 * sync has brought them). Delivery only checks that the recipient still receives here or on an office peer (a user
 * disabled since the request was accepted does not).
 */
export function createInternalChannel(recipients: NetworkRecipients): Channel {
  return {
    code: 'internal',
    async deliver({ recipient }) {
      const resource = recipient.resource;
      const parties = resource ? partiesOf(resource, '') : [];
      if (parties.some((party) => recipients.has(party.type, party.id))) return { status: 'completed' };
      const who = resource ? `${resource.resourceType}/${resource.id}` : 'The recipient';
      return { status: 'failed', reason: `${who} is not a user or practice of this node or of its office peers (any more): the internal channel cannot reach them` };
    },
  };
}
