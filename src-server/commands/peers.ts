import type { Command } from 'commander';
import { readFolder, readSecret, withDataFolder } from '../folder-access';
import { PeerStore, type PeerInfo, type PeerKind } from '../sync/peers';

/**
 * `liaison peers add|list|remove`: the nodes this one synchronises with (a running node picks changes up within its
 * poll interval; while one serves the folder, changes go through its admin API). The client secret is read from
 * $LIAISON_PEER_CLIENT_SECRET or standard input, never from the command line (other users of the computer see
 * command lines). Registered by cli.ts.
 */

export function registerPeerCommands(program: Command, defaultDataDir: string): void {
  const peers = program.command('peers').description('the remote nodes this node synchronises with');
  peers
    .command('add')
    .description('add a peer: its URL and this node\'s OAuth client on it (secret from $LIAISON_PEER_CLIENT_SECRET or stdin)')
    .requiredOption('--name <name>', 'what the peer is, e.g. "Poste du Dr Martin"')
    .requiredOption('--url <url>', "the peer's address, e.g. http://192.168.1.20:8347")
    .requiredOption('--client-id <id>', "this node's client id on the peer (a client with the SYNC scope)")
    .option('--kind <kind>', 'office (records both ways) or directory (directory data from it only)', 'office')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (options: { name: string; url: string; clientId: string; kind: string; data: string }) => {
      const clientSecret = process.env.LIAISON_PEER_CLIENT_SECRET ?? (await readSecret('Client secret on the peer: '));
      const peer = { name: options.name, url: options.url, clientId: options.clientId, clientSecret, kind: options.kind as PeerKind };
      const added = await withDataFolder(options.data, {
        direct: (db, dataDir) => new PeerStore(db, dataDir).add(peer),
        served: (api) => api.call<PeerInfo>('POST', '/admin/peers', peer),
      });
      console.log(JSON.stringify(added, null, 2));
    });
  peers
    .command('list')
    .description('list the peers and how their sync goes (never their secrets)')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action((options: { data: string }) =>
      readPeers(options.data, (store) => {
        for (const peer of store.list()) {
          const status = peer.lastError ? `failing: ${peer.lastError}` : peer.lastSyncAt ? `synced ${peer.lastSyncAt}` : 'not synced yet';
          const skew = peer.clockSkewMs !== undefined && Math.abs(peer.clockSkewMs) > 5 * 60_000 ? `  clock ${Math.round(peer.clockSkewMs / 1000)} s off` : '';
          console.log(`${peer.peerId}  ${peer.kind.padEnd(9)}  ${peer.name}  ${peer.url}  client ${peer.clientId}  ${status}${skew}`);
        }
      }),
    );
  peers
    .command('remove <peerId>')
    .description('stop synchronising with a peer (what was synchronised stays)')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (peerId: string, options: { data: string }) => {
      await withDataFolder(options.data, {
        direct: (db, dataDir) => new PeerStore(db, dataDir).remove(peerId),
        served: (api) => api.call<PeerInfo>('DELETE', `/admin/peers/${encodeURIComponent(peerId)}`),
      });
      console.log(`Peer ${peerId} removed.`);
    });
}

/** Reads the peers (a running node may be writing meanwhile: SQLite lets the two take turns). */
function readPeers(dataDir: string, work: (store: PeerStore) => void): Promise<void> {
  return readFolder(dataDir, (db, folder) => work(new PeerStore(db, folder)));
}
