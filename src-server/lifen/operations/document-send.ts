import { CHANNEL_SYSTEM, type ChannelCode } from '../../channels/channel';
import { isJson, type Json } from '../../fhir/json';
import { badRequest, forbidden, payloadTooLarge, unprocessable } from '../../fhir/outcome';
import type { FhirOperation, OperationCall, OperationParameter } from '../../rest/extensions';
import type { FhirRequest, FhirResponse } from '../../rest/types';
import { localRef } from '../../documents/references';
import { describedParameter, isBase64, readParameters, referenceOf, type ParameterDefinition, type ParameterSet } from './parameters';

/**
 * What Lifen's v3 send operations do on the node: the Document API's own sequence (docs/documents.md) — a Binary, a
 * DocumentReference naming it, a CommunicationRequest carrying that — written through the interactions as the
 * caller, in one transaction. So every rule of the flow holds as for a client that posts the three itself: the
 * caller's scopes for each type (BINARY_CREATE, DOCUMENTREFERENCE_CREATE, COMMUNICATIONREQUEST_CREATE), its reach,
 * the content and carried-document rules, the send rule's checks and routing; a refusal of any step writes nothing.
 */

export interface DocumentSend {
  /** The document, base64, and its media type. */
  content: string;
  contentType: string;
  /** The DocumentReference to write, without its content (the Binary's url is added). */
  document: Json;
  /** The CommunicationRequest's sender, recipients (and contained ones), subject; the payload, status and medium are added. */
  request: Json;
  channel: ChannelCode;
}

/** Writes the send; answers the CommunicationRequest's id. */
export function writeSend(call: OperationCall, send: DocumentSend): string {
  const { interactions, base } = call;
  const caller: Pick<FhirRequest, 'scopes' | 'reach' | 'caller'> = { scopes: call.request.scopes, reach: call.request.reach, caller: call.request.caller };
  const create = (type: string, body: Json): string => {
    const { written } = interactions.handle({ ...caller, method: 'POST', path: type, query: new URLSearchParams(), body }, base);
    // Nothing here has an identifier a write rule could match to an earlier resource: every create writes.
    if (!written) throw new Error(`The create of a ${type} wrote nothing`);
    return written.id;
  };
  return interactions.repository.transaction(() => {
    const binary = create('Binary', { resourceType: 'Binary', contentType: send.contentType, content: send.content });
    const attachment = { contentType: send.contentType, url: `Binary/${binary}` };
    const document = create('DocumentReference', { ...send.document, content: [{ attachment }] });
    return create('CommunicationRequest', {
      resourceType: 'CommunicationRequest',
      ...send.request,
      status: 'active',
      payload: [{ contentReference: { reference: `DocumentReference/${document}` } }],
      medium: [{ coding: [{ system: CHANNEL_SYSTEM, code: send.channel }] }],
      authoredOn: new Date().toISOString(),
    });
  });
}

/**
 * A send operation on CommunicationRequest: the caller's scopes first — the Document API's sequence needs its three
 * create scopes, which Lifen's grouped scope (`SEND_TO_MSS`, `SEND_TO_EHR`, auth/scopes.ts) grants — so that a
 * caller without them learns it before anything else (403 naming the grouped scope); then its parameters.
 */
export function sendOperation(spec: {
  name: string;
  /** What it sends where, for its OperationDefinition. */
  description: string;
  groupedScope: string;
  parameters: readonly ParameterDefinition[];
  /** What its answer's Parameters hold. */
  answer: readonly OperationParameter[];
  run(call: OperationCall, parameters: ParameterSet): FhirResponse;
}): FhirOperation {
  return {
    name: spec.name,
    level: 'type',
    types: ['CommunicationRequest'],
    methods: ['POST'],
    definition: { description: `${spec.description} Needs the scope ${spec.groupedScope}.`, parameters: [...spec.parameters.map(describedParameter), ...spec.answer] },
    run(call) {
      const { scopes } = call.request;
      if (SEND_TYPES.some((type) => !scopes.allows(type, 'CREATE'))) {
        throw forbidden('scope-missing', `${spec.name} needs the scope ${spec.groupedScope} (or ${SEND_TYPES.map((type) => `${type.toUpperCase()}_CREATE`).join(', ')}), which this client lacks`, undefined, { scope: spec.groupedScope });
      }
      return spec.run(call, readParameters(call.request.body, spec.parameters, spec.name));
    },
  };
}

const SEND_TYPES = ['Binary', 'DocumentReference', 'CommunicationRequest'];

/** The `subject` Patient and the optional `context` Encounter of a send (one of that patient's), as the caller may see them. */
export function subjectAndContext(call: OperationCall, parameters: ParameterSet): { subject: VisibleTarget; context?: VisibleTarget } {
  const subject = visibleReference(call, referenceOf(parameters.one('subject'))!, ['Patient'], 'subject');
  const context = parameters.one('context') && visibleReference(call, referenceOf(parameters.one('context'))!, ['Encounter'], 'context');
  const encounterPatient = context && localRef(isJson(context.resource.subject) ? context.resource.subject.reference : undefined, call.base);
  if (context && (encounterPatient?.type !== 'Patient' || encounterPatient.id !== subject.id)) {
    throw unprocessable('context-mismatch', `Encounter/${context.id} is not an encounter of Patient/${subject.id}`, 'context');
  }
  return { subject, ...(context ? { context } : {}) };
}

/** How many bytes a base64 text decodes to. */
export function decodedSize(base64: string): number {
  const text = base64.replace(/\s+/g, '');
  return Math.floor((text.length * 3) / 4) - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
}

/** The document (base64) a parameter carries: refused unless it is base64 (400), not empty (400), at most `limit` bytes (413). */
export function requireDocument(base64: string, limit: number, parameter: string, operation: string): void {
  if (!isBase64(base64)) throw badRequest('base64-invalid', `The document given in '${parameter}' is not base64`, parameter);
  const size = decodedSize(base64);
  if (size > limit) throw payloadTooLarge('document-too-large', `The document given in '${parameter}' is ${size} bytes: ${operation} takes documents under ${limit / 1024 / 1024} MB`);
  if (size === 0) throw badRequest('document-empty', `The document given in '${parameter}' is empty`, parameter);
}

export interface VisibleTarget {
  type: string;
  id: string;
  resource: Json;
}

/**
 * A reference a Lifen parameter gives, as a local `Type/id` of one of `types` that the caller may see; anything else
 * is answered as a resource that does not exist (422 naming the parameter), whether it is another practice's or missing.
 */
export function visibleReference(call: OperationCall, reference: string, types: readonly string[], parameter: string): VisibleTarget {
  const ref = localRef(reference, call.base);
  if (!ref || !types.includes(ref.type)) throw badRequest('operation-parameter-invalid', `'${parameter}' must reference a ${types.join(' or ')} of this node, not '${reference}'`, parameter);
  const stored = call.interactions.repository.read(ref.type, ref.id);
  if (!stored || !call.interactions.searchEngine.isVisible(stored, call.request, call.base)) throw unprocessable('reference-unknown', `${ref.type}/${ref.id} does not exist`, parameter);
  return { ...ref, resource: JSON.parse(stored.json) as Json };
}
