import type { Sessions } from './sessions';
import type { TokenStore } from './tokens';
import type { User, Users } from './users';

/**
 * An admin's change to a user, with its effects: a disabled user's sessions end, and the node stops trusting what
 * it remembered of the user's tokens, so new roles and practices apply from the next call. Without the running
 * node's token store (`liaison users set`), the node notices within its token cache time (10 s).
 */
export function applyUserChange(users: Users, sessions: Sessions, userId: string, change: unknown, tokens?: TokenStore): User {
  const user = users.update(userId, change);
  if (user.disabledAt) sessions.endAllOf(userId);
  tokens?.forget((principal) => principal.party?.userId === userId);
  return user;
}
