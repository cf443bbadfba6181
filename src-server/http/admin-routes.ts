import type { FastifyInstance } from 'fastify';
import { createClient, listClients, revokeClient, type NewClient } from '../auth/clients';
import type { TokenStore } from '../auth/tokens';
import { badRequest, forbidden } from '../fhir/outcome';
import type { Db } from '../storage/database';
import { authenticate } from './bearer';

/**
 * `/admin`: what the practice's admin manages. For now the API clients of the office's software:
 * `GET /admin/clients`, `POST /admin/clients` (the secret is in that answer only), `DELETE /admin/clients/<id>`
 * (revokes the client and its tokens). Admins are the owner client until user accounts exist.
 */

export interface AdminRoutesOptions {
  db: Db;
  tokens: TokenStore;
}

export async function adminRoutes(app: FastifyInstance, { db, tokens }: AdminRoutesOptions): Promise<void> {
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      const principal = authenticate(request, tokens);
      if (principal.role !== 'owner') throw forbidden('Only an admin may manage API clients');
      request.principal = principal;
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  app.get('/clients', async () => ({ clients: listClients(db) }));

  app.post('/clients', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Send a JSON object: { "name", "scopes": [...], "rateLimit"? }');
    const { name, scopes, rateLimit } = body as Partial<NewClient>;
    const credentials = createClient(db, { name: name as string, scopes: scopes as string[], rateLimit });
    return reply.code(201).header('cache-control', 'no-store').send(credentials);
  });

  app.delete<{ Params: { id: string } }>('/clients/:id', async (request) => {
    const revoked = revokeClient(db, request.params.id);
    tokens.forgetClient(revoked.clientId);
    return revoked;
  });
}
