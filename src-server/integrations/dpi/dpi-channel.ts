import type { Channel, Delivery, DeliveryOutcome } from '../../channels/channel';
import { acknowledgementOutcome } from './acknowledgement';
import { writeDropFile } from './drop-folder';
import { buildHl7Message, type DpiMessageSettings } from './hl7-message';
import { MllpTransportError, sendMllp, type MllpTarget } from './mllp';

/** The DPI channel: a document to a hospital EHR as an HL7 v2 message, over MLLP or into a drop folder. */

export interface DpiSettings extends DpiMessageSettings {
  /** Where the hospital's interface engine listens for MLLP. */
  mllp?: MllpTarget;
  /** Or a folder it watches. */
  dropFolder?: string;
}

/** `signal` aborts deliveries under way (the node closing): they end as retries. */
export function createDpiChannel(settings: DpiSettings, signal?: AbortSignal): Channel {
  if (!settings.mllp === !settings.dropFolder) throw new Error('The DPI channel needs either an MLLP host and port or a drop folder (one of them)');
  return {
    code: 'dpi',
    async deliver(delivery: Delivery): Promise<DeliveryOutcome> {
      const message = buildHl7Message(delivery, settings);
      if ('missing' in message) return { status: 'failed', reason: message.missing };
      if (settings.dropFolder) {
        try {
          await writeDropFile(settings.dropFolder, message.controlId, message.text);
          return { status: 'completed' };
        } catch (error) {
          // A missing or full folder (a network share offline, say) is put right outside Liaison: try again later.
          return { status: 'retry', reason: `Could not write into the drop folder: ${(error as Error).message}` };
        }
      }
      try {
        return acknowledgementOutcome(await sendMllp(settings.mllp!, message.text, signal), message.controlId);
      } catch (error) {
        if (error instanceof MllpTransportError) return { status: 'retry', reason: error.message };
        throw error;
      }
    },
  };
}
