import type { Json } from '../../fhir/json';
import { badRequest, preconditionFailed, unprocessable } from '../../fhir/outcome';
import type { DocumentsModule } from '../../documents/module';
import { localRef } from '../../documents/references';
import type { FhirOperation, OperationCall } from '../../rest/extensions';
import { requireDocument, sendOperation, subjectAndContext, writeSend } from './document-send';
import { textOf, type GivenParameter, type ParameterDefinition } from './parameters';
import { senderReference } from './sender';
import { sendAnswer, sendAnswerParameters } from './send-answer';

/**
 * `POST CommunicationRequest/$send-to-ehr` (Lifen v3): a document filed into the practice's or hospital's EHR, which
 * on the node is the DPI channel (HL7 v2 over MLLP or a drop folder, src-server/integrations/dpi). The recipient is
 * the Organization the DPI endpoint serves (channels.json `dpi.organizations`): the `context` Encounter's
 * serviceProvider when it is one of them, else the only one. Documents over Lifen's 15 MB are refused (413).
 * docs/lifen-compatibility.md, "v3 operations".
 */

const OPERATION = '$send-to-ehr';
/** Lifen's limit for the Binary of a $send-to-ehr, read as MiB (the more lenient reading of "15 MB"). */
export const EHR_DOCUMENT_LIMIT = 15 * 1024 * 1024;
const LOINC = 'http://loinc.org';

const DEFINITIONS: readonly ParameterDefinition[] = [
  { name: 'subject', min: 1, max: 1, types: ['valueReference'] },
  { name: 'context', min: 0, max: 1, types: ['valueReference'] },
  { name: 'content-type', min: 0, max: 1, types: ['valueCode', 'valueString'] },
  { name: 'document-type', min: 1, max: 1, types: ['valueCoding', 'valueCodeableConcept', 'valueCode', 'valueString'] },
  { name: 'document-title', min: 1, max: 1, types: ['valueString'] },
  { name: 'payload', min: 1, max: 1, types: ['valueBase64Binary', 'valueString'] },
  { name: 'sender-identifier', min: 0, max: 1, types: ['valueIdentifier', 'valueString'] },
];

export function sendToEhrOperation(documents: Pick<DocumentsModule, 'configured' | 'dpiOrganizations'>): FhirOperation {
  return sendOperation({
    name: OPERATION,
    description: "Lifen v3: sends a document to the practice's hospital EHR (the DPI channel, HL7 v2) through the node's Document API sequence.",
    groupedScope: 'SEND_TO_EHR',
    parameters: DEFINITIONS,
    answer: sendAnswerParameters('ehr'),
    run(call, parameters) {
      const content = textOf(parameters.one('payload'))!;
      requireDocument(content, EHR_DOCUMENT_LIMIT, 'payload', OPERATION);
      const contentType = textOf(parameters.one('content-type')) ?? 'application/pdf';
      if (!/^[\w.+-]+\/[\w.+-]+$/.test(contentType)) throw badRequest('content-type-invalid', `'content-type' must be a media type, not '${contentType}'`, 'content-type');
      const type = documentType(parameters.one('document-type')!);
      if (!documents.configured('dpi') || documents.dpiOrganizations.length === 0) {
        throw preconditionFailed('channel-not-configured', `${OPERATION}: no EHR is set up on this node (the DPI endpoint and the Organizations it serves, "dpi" in channels.json)`, undefined, { channel: 'dpi' });
      }
      const { subject, context } = subjectAndContext(call, parameters);
      const ehr = ehrOrganization(call, context?.resource, documents.dpiOrganizations);
      const sender = senderReference(call, parameters) ?? ehr;
      const requestId = writeSend(call, {
        content,
        contentType,
        channel: 'dpi',
        document: {
          resourceType: 'DocumentReference',
          status: 'current',
          type,
          indexed: new Date().toISOString(),
          description: textOf(parameters.one('document-title')),
          subject: { reference: `Patient/${subject.id}` },
          author: [{ reference: sender }],
          ...(context ? { context: { encounter: { reference: `Encounter/${context.id}` } } } : {}),
        },
        request: {
          subject: { reference: `Patient/${subject.id}` },
          ...(context ? { context: { reference: `Encounter/${context.id}` } } : {}),
          sender: { reference: sender },
          recipient: [{ reference: ehr }],
        },
      });
      return sendAnswer(call.base, requestId, 'ehr');
    },
  });
}

/** `document-type` as a CodeableConcept; a bare code is a LOINC code (Lifen's example: `11488-4`). */
function documentType(given: GivenParameter): Json {
  const value = given.value;
  if (given.type === 'valueCodeableConcept') return value as Json;
  if (given.type === 'valueCoding') return { coding: [value] };
  return { coding: [{ system: LOINC, code: String(value).trim() }] };
}

/** The Organization whose EHR receives it: the encounter's service provider if the DPI serves it, else the DPI's only one. */
function ehrOrganization(call: OperationCall, encounter: Json | undefined, served: readonly string[]): string {
  const provider = localRef((encounter?.serviceProvider as Json | undefined)?.reference, call.base);
  if (provider?.type === 'Organization' && served.includes(provider.id)) return `Organization/${provider.id}`;
  if (served.length === 1) return `Organization/${served[0]}`;
  const names = served.map((id) => `Organization/${id}`).join(', ');
  throw unprocessable('context-ambiguous', `This node's DPI serves several Organizations (${names}): give a 'context' Encounter whose serviceProvider is one of them`, 'context');
}
