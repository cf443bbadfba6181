import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { secretMatches } from './scrypt-hash';

/**
 * Checks clients' secrets against their scrypt hashes, at a cost a flood cannot turn against the node or the real
 * client:
 * - A secret once proven is remembered as an HMAC under a key made at start (never stored): the client's next
 *   requests are checked in microseconds, the right secret accepted and any other refused without scrypt (a
 *   scrypt hash has one secret). This is as strong as the secret itself: its 256 random bits need no key
 *   stretching; scrypt is there for a stolen database, which this memory is not part of.
 * - Otherwise scrypt runs on libuv's thread pool, one check at a time: a check takes ~40 ms of a core, and one at a
 *   time leaves the other cores to the event loop and the pool's other threads to file I/O. Checks for clients
 *   with recent failures wait behind the others, so that a flood against one client_id does not hold up another
 *   client's first check after a start.
 */

const MAX_PROVEN = 10_000;

type Check = () => void;

export class SecretChecks {
  private readonly key = randomBytes(32);
  /** client_id → the stored hash and the HMAC of the secret that matched it. */
  private readonly proven = new Map<string, { secretHash: string; proof: Buffer }>();
  private readonly waiting: { first: Check[]; suspect: Check[] } = { first: [], suspect: [] };
  private busy = false;

  /** Whether `secret` is the client's; `suspect`: the client had failures lately (its scrypt check waits behind others). */
  async matches(clientId: string, secretHash: string, secret: string, suspect: boolean): Promise<boolean> {
    const proof = createHmac('sha256', this.key).update(secret).digest();
    const known = this.fromMemory(clientId, secretHash, proof);
    if (known !== undefined) return known;
    // Asked again when its turn comes: the same secret sent on several connections at once is hashed once.
    return this.inTurn(suspect, async () => {
      const meanwhile = this.fromMemory(clientId, secretHash, proof);
      if (meanwhile !== undefined) return meanwhile;
      const matched = await secretMatches(secret, secretHash);
      if (matched) {
        if (this.proven.size >= MAX_PROVEN) this.proven.clear();
        this.proven.set(clientId, { secretHash, proof });
      }
      return matched;
    });
  }

  /** What memory says of `secret` without any scrypt: undefined when no secret of this hash was proven since start. */
  remembered(clientId: string, secretHash: string, secret: string): boolean | undefined {
    return this.fromMemory(clientId, secretHash, createHmac('sha256', this.key).update(secret).digest());
  }

  /** Clients held in memory: only those whose secret was proven, whatever ids callers make up. */
  get size(): number {
    return this.proven.size;
  }

  /** Whether the secret is the one proven for this client; undefined when none was (or its hash changed since). */
  private fromMemory(clientId: string, secretHash: string, proof: Buffer): boolean | undefined {
    const known = this.proven.get(clientId);
    return known?.secretHash === secretHash ? timingSafeEqual(known.proof, proof) : undefined;
  }

  private async inTurn<T>(suspect: boolean, check: () => Promise<T>): Promise<T> {
    if (this.busy) await new Promise<void>((resolve) => (suspect ? this.waiting.suspect : this.waiting.first).push(resolve));
    this.busy = true;
    try {
      return await check();
    } finally {
      const next = this.waiting.first.shift() ?? this.waiting.suspect.shift();
      if (next) next();
      else this.busy = false;
    }
  }
}
