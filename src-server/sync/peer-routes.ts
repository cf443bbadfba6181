import type { FastifyInstance } from 'fastify';
import { badRequest } from '../fhir/outcome';
import type { Repository } from '../store/repository';
import type { NewPeer, PeerStore } from './peers';

/**
 * `/admin/peers` (inside the admin subtree, behind its admin check): `GET` lists the peers with their sync status,
 * `POST { name, url, kind?, clientId, clientSecret }` adds one, `DELETE /<peerId>` removes one. The secret goes in
 * and never comes out. The running sync picks changes up at its next poll. `GET /kept-aside` lists the replicated
 * versions this node keeps aside because it cannot store them (docs/sync.md), newest first.
 */

/** Versions kept aside listed at most (the total is given too). */
const KEPT_ASIDE_LISTED = 100;

export async function peerRoutes(app: FastifyInstance, { peers, repository }: { peers: PeerStore; repository: Repository }): Promise<void> {
  app.get('/', async () => ({ peers: peers.list() }));

  app.get('/kept-aside', async () => repository.keptAside(KEPT_ASIDE_LISTED));

  app.post('/', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('peer-invalid', 'Send a JSON object: { "name", "url", "kind"?, "clientId", "clientSecret" }');
    const { name, url, kind, clientId, clientSecret } = body as Partial<NewPeer>;
    return reply.code(201).send(peers.add({ name: name as string, url: url as string, kind, clientId: clientId as string, clientSecret: clientSecret as string }));
  });

  app.delete<{ Params: { id: string } }>('/:id', async (request) => peers.remove(request.params.id));
}
