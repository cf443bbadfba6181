import type { DeliveryOutcome } from '../../channels/channel';

/**
 * What an HL7 v2 acknowledgement means for a delivery (HL7 v2.5 §2.9, tables 0008 and 0357):
 *
 * - AA (application accept), or CA (commit accept, from a receiver in enhanced mode: it took charge of the message)
 *   → completed.
 * - AE (application error): the receiver processed the message and found an error in it (unknown patient, missing
 *   field…). The same message would meet the same error, so the delivery fails for good and says why; someone fixes
 *   the data and sends a new request.
 * - AR (application reject): the message type, event, version or processing id is not accepted — a configuration
 *   mismatch that no resend cures → failed. HL7 also lets a receiver answer AR when it cannot process anything "for
 *   reasons unrelated to content or format"; a receiver that says so with ERR-3 code 207 (application internal
 *   error) gets the message again later (retry).
 * - CE (commit error: the receiver could not take the message now) → retry; CR (commit reject) → failed.
 * - An acknowledgement of another control id, or one that cannot be read → retry: nothing says ours was processed.
 */

const APPLICATION_INTERNAL_ERROR = '207';

export function acknowledgementOutcome(ack: string, controlId: string, now = new Date()): DeliveryOutcome {
  const segments = ack.split(/\r\n|\r|\n/).filter((segment) => segment !== '');
  const header = segments[0];
  if (!header?.startsWith('MSH') || header.length < 8) return { status: 'retry', reason: 'The acknowledgement is not an HL7 v2 message' };
  const fieldSeparator = header[3];
  const componentSeparator = header[4];
  const fields = (name: string) => segments.find((segment) => segment.startsWith(`${name}${fieldSeparator}`))?.split(fieldSeparator);
  const msa = fields('MSA');
  if (!msa) return { status: 'retry', reason: 'The acknowledgement has no MSA segment' };
  const [, code, acknowledgedId, text] = msa;
  if (acknowledgedId !== controlId) return { status: 'retry', reason: `The acknowledgement is for message '${acknowledgedId ?? ''}', not '${controlId}'` };
  const err = fields('ERR');
  // ERR-3 (HL7 error code) and ERR-8 (user message) in v2.5; older receivers put their text in MSA-3 only.
  const errorCode = err?.[3]?.split(componentSeparator)[0];
  const explanation = [text, err?.[8]].filter((part) => part && part !== '').join(' — ') || 'no explanation given';
  switch (code) {
    case 'AA':
    case 'CA':
      return { status: 'completed', received: now.toISOString() };
    case 'AE':
      return { status: 'failed', reason: `The receiver found an error in the message (AE): ${explanation}` };
    case 'AR':
      return errorCode === APPLICATION_INTERNAL_ERROR
        ? { status: 'retry', reason: `The receiver could not process the message now (AR, internal error): ${explanation}` }
        : { status: 'failed', reason: `The receiver rejected the message (AR): ${explanation}` };
    case 'CE':
      return { status: 'retry', reason: `The receiver could not take the message now (CE): ${explanation}` };
    case 'CR':
      return { status: 'failed', reason: `The receiver rejected the message (CR): ${explanation}` };
    default:
      return { status: 'retry', reason: `The acknowledgement code '${code ?? ''}' is not an HL7 one` };
  }
}
