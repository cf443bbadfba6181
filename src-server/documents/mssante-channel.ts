import nodemailer from 'nodemailer';
import type { Channel, Delivery, DeliveryOutcome } from '../channels/channel';
import type { SmtpRelaySettings } from './channel-settings';
import { arrayOf, isJson, type Resource } from './references';
import { buildXdmPackage } from '../ihe/xdm-package';
import { xdmOf } from './mssante-xdm';

/**
 * MSSanté: an e-mail through the operator's SMTP relay to the recipient's MSSanté mailbox, carrying the document and
 * an `IHE_XDM.ZIP` (ihe/xdm-package.ts), as MSSanté software-to-software exchanges expect. The Message-ID is derived from the
 * delivery id, so a message resent after a crash is recognisably the same message. A refusal by the relay (5xx) is
 * final; a relay that cannot be reached or answers 4xx is retried by the outbox.
 */
export function createMssanteChannel(settings: SmtpRelaySettings, nodeId: string): Channel {
  const transport = nodemailer.createTransport({
    ...smtpConnection(settings),
    socketTimeout: 120_000,
  });
  return {
    code: 'mssante',
    async deliver(delivery: Delivery): Promise<DeliveryOutcome> {
      const address = delivery.recipient.address;
      if (!address) return { status: 'failed', reason: 'The recipient has no MSSanté address' };
      const xdm = xdmOf(delivery, nodeId, address);
      const { document } = xdm;
      const fileName = `${document.title.replace(/[^\p{L}\p{N} _-]+/gu, '').trim() || 'document'}.${delivery.contentType === 'application/pdf' ? 'pdf' : 'bin'}`;
      try {
        await transport.sendMail({
          from: { name: displayName(delivery.sender) ?? settings.from, address: settings.from },
          to: address,
          subject: document.title,
          messageId: `<${delivery.deliveryId}@liaison.local>`,
          headers: { 'X-Liaison-Delivery': delivery.deliveryId },
          text: messageText(delivery) ?? `${document.title}\n\nDocument transmis par ${displayName(delivery.sender) ?? settings.from}.`,
          attachments: [
            { filename: fileName, content: delivery.content, contentType: delivery.contentType },
            { filename: 'IHE_XDM.ZIP', content: buildXdmPackage(xdm), contentType: 'application/zip' },
          ],
        });
        return { status: 'completed' };
      } catch (error) {
        return smtpOutcome(error as SmtpError, address, settings);
      }
    },
    async close() {
      transport.close();
    },
  };
}

/** How the node reaches and authenticates to the relay: shared by deliveries and "Tester" (channel-test.ts). */
export function smtpConnection(settings: SmtpRelaySettings) {
  return {
    host: settings.host,
    port: settings.port,
    secure: settings.secure ?? false,
    requireTLS: settings.requireTLS ?? false,
    ...(settings.auth ? { auth: { user: settings.auth.user, pass: settings.auth.pass } } : {}),
    tls: { rejectUnauthorized: !settings.allowUntrustedCertificate, ...(settings.clientCertificate ? { cert: settings.clientCertificate.cert, key: settings.clientCertificate.key } : {}) },
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
  };
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** 5xx is the relay's final word; 4xx and network failures pass. The reason never carries the relay's credentials. */
function smtpOutcome(error: SmtpError, address: string, settings: SmtpRelaySettings): DeliveryOutcome {
  const relay = `${settings.host}:${settings.port}`;
  if (error.responseCode !== undefined && error.responseCode >= 500) {
    return { status: 'failed', reason: `The MSSanté relay ${relay} refused the message to ${address}: ${oneLine(error.response ?? error.message)}` };
  }
  if (error.code === 'EAUTH') return { status: 'retry', reason: `The MSSanté relay ${relay} refused the node's credentials: ${oneLine(error.response ?? error.message)}` };
  return { status: 'retry', reason: `The MSSanté relay ${relay} could not take the message (${error.code ?? 'error'}): ${oneLine(error.response ?? error.message)}` };
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300);

function displayName(resource: Resource | undefined): string | undefined {
  if (!resource) return undefined;
  if (typeof resource.name === 'string') return resource.name;
  const name = arrayOf(resource.name).find(isJson);
  if (!name) return undefined;
  if (typeof name.text === 'string') return name.text;
  return [...arrayOf(name.prefix), ...arrayOf(name.given), name.family].filter((part) => typeof part === 'string').join(' ') || undefined;
}

/** The request's text payloads (`contentString`), as the message body. */
function messageText(delivery: Delivery): string | undefined {
  const texts = arrayOf(delivery.communicationRequest.payload)
    .filter(isJson)
    .map((payload) => payload.contentString)
    .filter((content): content is string => typeof content === 'string');
  return texts.length ? texts.join('\n\n') : undefined;
}
