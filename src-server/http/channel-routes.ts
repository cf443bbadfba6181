import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit/audit-log';
import type { TokenStore } from '../auth/tokens';
import type { ChannelAdmin } from '../documents/module';
import { isSavedChannel, type SavedChannel } from '../documents/saved-channels';
import { forbidden, refusal } from '../fhir/outcome';
import { auditAnswer } from './audit-answers';
import { authenticate } from './bearer';

/**
 * `/admin/channels`: how documents leave the node, set up by the practice's admin (docs/documents.md, "Channels").
 *   GET    /admin/channels                  → { fixedBy?, channels: { mssante?: { settings, savedSecrets }, dpi?, dmp? } }
 *   PUT    /admin/channels/<channel>        → saves and applies that channel's settings (secrets left out are kept)
 *   DELETE /admin/channels/<channel>        → the channel is no longer configured (answers as GET)
 *   POST   /admin/channels/<channel>/test   → tries the settings sent (or the saved ones), sending nothing: { result, detail? }
 * Secrets (the relay's password, the certificate's key, the DMP's headers) go in and never come out. A channels.json
 * given at start fixes the channels: changes are then refused (409 `channel-settings-fixed`).
 */

export interface ChannelRoutesOptions {
  channels: ChannelAdmin;
  tokens: TokenStore;
  audit: AuditLog;
}

export async function channelRoutes(app: FastifyInstance, { channels, tokens, audit }: ChannelRoutesOptions): Promise<void> {
  app.addHook('onRequest', async (request) => {
    const principal = authenticate(request, tokens);
    if (!principal.admin) throw forbidden('admin-only', 'Only an admin may set up the document channels');
    request.principal = principal;
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode < 400) auditAnswer(audit, request, reply.statusCode);
  });

  app.get('/', async (_request, reply) => reply.header('cache-control', 'no-store').send(channels.view()));

  app.put<{ Params: { channel: string } }>('/:channel', async (request, reply) => reply.header('cache-control', 'no-store').send(channels.save(channelOf(request.params.channel), request.body)));

  app.delete<{ Params: { channel: string } }>('/:channel', async (request, reply) => {
    channels.remove(channelOf(request.params.channel));
    return reply.header('cache-control', 'no-store').send(channels.view());
  });

  app.post<{ Params: { channel: string } }>('/:channel/test', async (request) => channels.test(channelOf(request.params.channel), request.body ?? undefined));
}

function channelOf(value: string): SavedChannel {
  if (!isSavedChannel(value)) throw refusal(404, 'channel-unknown', `No channel '${value}' to set up (expected mssante, dpi, dmp)`, undefined, { parameters: { channel: value } });
  return value;
}
