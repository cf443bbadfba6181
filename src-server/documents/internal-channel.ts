import type { Channel } from './channel';
import type { LocalRecipients } from './local-recipients';
import { partiesOf } from './references';

/**
 * Delivery to a user or practice of this node: nothing travels, the Communication the outbox completes is the inbox
 * entry (its recipients' reach sees it, and the document through it). Delivery only checks that the recipient still
 * receives here (a user disabled since the request was accepted does not).
 */
export function createInternalChannel(localRecipients: LocalRecipients): Channel {
  return {
    code: 'internal',
    async deliver({ recipient }) {
      const resource = recipient.resource;
      const parties = resource ? partiesOf(resource, '') : [];
      if (parties.some((party) => localRecipients.has(party.type, party.id))) return { status: 'completed' };
      const who = resource ? `${resource.resourceType}/${resource.id}` : 'The recipient';
      return { status: 'failed', reason: `${who} is not a user or practice of this node (any more): the internal channel cannot reach them` };
    },
  };
}
