import { CHANNEL_SYSTEM } from '../../channels/channel';
import type { DocumentsModule } from '../../documents/module';
import { arrayOf, isJson, type Json } from '../../fhir/json';
import { badRequest, notFound } from '../../fhir/outcome';
import type { FhirOperation } from '../../rest/extensions';
import type { StoredResource } from '../../store/repository';

/**
 * `GET CommunicationRequest/$tracking?transaction-id=<id>` (Lifen v3): what became of a `$send-to-mss` (or any send)
 * — a `collection` Bundle of its Communications, one per recipient and channel, with their `status` (and
 * `notDoneReason` when one failed). An MSSanté delivery's `medium` also carries Lifen's `MSSANTE` code and the address
 * it went to in `text`, as Lifen's do. Only what the caller may see: a send it cannot see is not found (404).
 */

const OPERATION = '$tracking';
/** Lifen's medium codes (docs/lifen-compatibility.md). */
export const LIFEN_MEDIUM_SYSTEM = 'http://lifen.fr/fhir/CodeSystem/communication-medium';
const PAGE = '100';

export function trackingOperation(documents: Pick<DocumentsModule, 'recipientsOf'>): FhirOperation {
  return {
    name: OPERATION,
    level: 'type',
    types: ['CommunicationRequest'],
    methods: ['GET'],
    definition: {
      description: 'Lifen v3: what became of a send: a collection Bundle of its Communications, one per recipient and channel, with their status.',
      parameters: [
        { name: 'transaction-id', use: 'in', min: 1, max: '1', type: 'string', documentation: 'The id $send-to-mss answered' },
        { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle' },
      ],
    },
    run({ request, base, interactions }) {
      request.scopes.require('Communication', 'SEARCH');
      for (const name of request.query.keys()) {
        if (name !== 'transaction-id' && !name.startsWith('_')) throw badRequest('operation-parameter-unknown', `Unknown parameter '${name}' of ${OPERATION}: it takes transaction-id`, name);
      }
      const ids = request.query.getAll('transaction-id');
      if (ids.length !== 1 || ids[0].trim() === '') throw badRequest('operation-parameter-missing', `${OPERATION} needs the parameter 'transaction-id' once: the id the send answered`, 'transaction-id');
      const id = ids[0].trim();
      const sent = /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? interactions.repository.read('CommunicationRequest', id) : undefined;
      if (!sent || !interactions.searchEngine.isVisible(sent, request, base)) throw notFound('send-unknown', `No send has the transaction-id '${id}'`);
      const communications: StoredResource[] = [];
      const params = new URLSearchParams({ 'based-on': `CommunicationRequest/${id}`, _count: PAGE });
      for (;;) {
        const page = interactions.searchEngine.search({ resourceType: 'Communication', params, lenient: false, base, access: request.scopes, reach: request.reach, caller: request.caller });
        communications.push(...page.matches);
        if (!page.next) break;
        params.set('_cursor', page.next);
      }
      const recipients = documents.recipientsOf(id);
      const entry = communications.map((stored) => ({ fullUrl: `${base}/Communication/${stored.id}`, resource: withLifenMedium(JSON.parse(stored.json) as Json, recipients.get(stored.id)?.address) }));
      return { status: 200, headers: {}, body: { resourceType: 'Bundle', type: 'collection', ...(entry.length ? { entry } : {}) } };
    },
  };
}

/** An MSSanté delivery's medium with Lifen's code beside the node's, and the address it went to as its text. */
function withLifenMedium(communication: Json, address: string | undefined): Json {
  const medium = arrayOf(communication.medium).map((concept) => {
    if (!isJson(concept) || !arrayOf(concept.coding).some((coding) => isJson(coding) && coding.system === CHANNEL_SYSTEM && coding.code === 'mssante')) return concept;
    return { ...concept, coding: [...arrayOf(concept.coding), { system: LIFEN_MEDIUM_SYSTEM, code: 'MSSANTE' }], ...(address ? { text: address } : {}) };
  });
  return medium.length ? { ...communication, medium } : communication;
}
