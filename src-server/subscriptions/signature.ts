import { createHmac, randomBytes } from 'node:crypto';

/**
 * Notification signatures as the Standard Webhooks specification has them (standardwebhooks.com, used by Svix and
 * others), so that receivers verify them with an off-the-shelf library:
 * - `webhook-id`: the notification's id, the same on every retry (receivers drop duplicates by it);
 * - `webhook-timestamp`: seconds since the epoch when sent (receivers refuse old ones: replays);
 * - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with the subscription's secret.
 * The secret is `whsec_` followed by the base64 of 32 random bytes.
 */

const SECRET_PREFIX = 'whsec_';

export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

export function signatureHeaders(secret: string, id: string, body: Buffer, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
