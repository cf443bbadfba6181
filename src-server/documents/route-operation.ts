import { badRequest } from '../fhir/outcome';
import type { FhirOperation, OperationCall, OperationDescription } from '../rest/extensions';
import { CHANNEL_SYSTEM } from '../channels/channel';
import { arrayOf, isJson, localRef, referenceOf, type Json, type Resource } from './references';
import { routeEach, visibleReader, type RecipientRouting, type RoutingContext } from './routing';

/**
 * `POST [base]/CommunicationRequest/$route` (docs/documents.md, "Before sending"): for a CommunicationRequest not
 * yet sent, which channel will reach each recipient (and by which mailbox), or the coded refusal the send would get
 * for it. It routes by `routeEach`, the very function the send rule uses, as the caller sees the directory and the
 * patients; it reads and writes nothing else.
 */

const ROUTE: OperationDescription = {
  description:
    'Which channel will reach each recipient of a CommunicationRequest before it is sent (internal, mssante with the mailbox, dpi, dmp), or why none can: the coded OperationOutcome the send would answer for that recipient. Body: the CommunicationRequest (or a Parameters whose `resource` is one).',
  parameters: [
    { name: 'resource', use: 'in', min: 1, max: '1', type: 'CommunicationRequest', documentation: 'The request as it would be sent: recipient, medium, subject, payload' },
    {
      name: 'recipient',
      use: 'out',
      min: 0,
      max: '*',
      documentation: 'One per recipient, in the request\'s order (the DMP\'s patient first)',
      parts: [
        { name: 'reference', use: 'out', min: 0, max: '1', type: 'Reference', documentation: 'The recipient as the request names it (the DMP\'s patient; none when no patient is named)' },
        { name: 'channel', use: 'out', min: 0, max: '*', type: 'Coding', documentation: 'urn:liaison:channel: each channel a delivery will take' },
        { name: 'address', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The MSSanté mailbox the delivery will use' },
        { name: 'mailbox', use: 'out', min: 0, max: '*', type: 'string', documentation: 'Every MSSanté mailbox known for it: choose one with the recipient-details extension' },
        { name: 'outcome', use: 'out', min: 0, max: '1', type: 'OperationOutcome', documentation: 'Why no channel reaches it (the coded refusal of the send)' },
      ],
    },
  ],
};

export function routeOperation(context: Omit<RoutingContext, 'base' | 'read' | 'document'>): FhirOperation {
  return {
    name: '$route',
    level: 'type',
    types: ['CommunicationRequest'],
    methods: ['POST'],
    readOnly: true,
    definition: ROUTE,
    run: (call) => route(call, context),
  };
}

function route({ request, base, interactions }: OperationCall, context: Omit<RoutingContext, 'base' | 'read' | 'document'>) {
  // Asking costs what sending would: the caller must be one who may send.
  request.scopes.require('CommunicationRequest', 'CREATE');
  const communicationRequest = requestOf(request.body);
  const read = visibleReader(interactions, request, base);
  const documentRef = localRef(arrayOf(communicationRequest.payload).map((payload) => (isJson(payload) ? referenceOf(payload.contentReference) : undefined)).find(Boolean), base);
  const document = documentRef?.type === 'DocumentReference' ? read(documentRef.type, documentRef.id) : undefined;
  const routings = routeEach(communicationRequest, { ...context, base, read, ...(document ? { document } : {}) });
  return { status: 200, headers: {}, body: { resourceType: 'Parameters', parameter: routings.map(recipientPart) } };
}

function requestOf(body: unknown): Resource {
  const resource = isJson(body) && body.resourceType === 'Parameters' ? arrayOf(body.parameter).filter(isJson).find((parameter) => parameter.name === 'resource')?.resource : body;
  if (!isJson(resource) || resource.resourceType !== 'CommunicationRequest') {
    throw badRequest('route-body-invalid', '$route takes the CommunicationRequest to send as its body (or a Parameters whose resource is one)', 'resourceType');
  }
  return resource as Resource;
}

function recipientPart(routing: RecipientRouting): Json {
  const [mssante] = routing.routes.filter((route) => route.channel === 'mssante');
  return {
    name: 'recipient',
    part: [
      // None for a DMP send whose patient neither the request nor its document names.
      ...(routing.reference ? [{ name: 'reference', valueReference: { reference: routing.reference } }] : []),
      ...[...new Set(routing.routes.map((route) => route.channel))].map((code) => ({ name: 'channel', valueCoding: { system: CHANNEL_SYSTEM, code } })),
      ...(mssante?.recipient.address ? [{ name: 'address', valueString: mssante.recipient.address }] : []),
      ...routing.mailboxes.map((mailbox) => ({ name: 'mailbox', valueString: mailbox })),
      ...(routing.refusal ? [{ name: 'outcome', resource: routing.refusal.outcome }] : []),
    ],
  };
}
