import { conflict, forbidden, unprocessable } from '../fhir/outcome';
import type { WriteRule } from '../rest/extensions';
import { DELIVERY_SYSTEM, isDelivery } from './communications';
import { arrayOf, localRef, referenceOf } from './references';

/**
 * The Communications of deliveries belong to the node: through the API, their recipients may only mark them read
 * (set `received`, or remove it to mark them unread again) once delivered; nobody may change anything else, nor
 * make a Communication that passes for a delivery.
 */
export function readStateRule(): WriteRule {
  return {
    types: ['Communication'],
    before({ resource, previous, previousResource: before, request, base }) {
      if (!before || !isDelivery(before)) {
        if (isDelivery(resource)) throw unprocessable('node-only-extension', `Identifiers of the system ${DELIVERY_SYSTEM} are set by this node only`, 'Communication.identifier');
        return;
      }
      const changed = [...new Set([...Object.keys(before), ...Object.keys(resource)])].find(
        (key) => key !== 'meta' && key !== 'received' && JSON.stringify(before[key]) !== JSON.stringify(resource[key]),
      );
      if (changed) {
        throw unprocessable('delivery-immutable', `Communication/${previous!.id} records a delivery made by this node: only received (read) may be set; send it back with ${changed} unchanged`, `Communication.${changed}`);
      }
      if (before.received === resource.received) return;
      if (before.status !== 'completed') throw conflict('delivery-not-completed', `Communication/${previous!.id} is ${String(before.status)}: only a delivered document can be marked read`);
      const { reach } = request;
      const recipients = arrayOf(before.recipient).map((recipient) => localRef(referenceOf(recipient), base));
      if (reach && !recipients.some((ref) => ref && reach.some(([type, id]) => type === ref.type && id === ref.id))) {
        throw forbidden('not-recipient', 'Only a recipient of the document may mark it read');
      }
    },
  };
}
