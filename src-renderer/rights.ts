/**
 * The rights (Lifen scopes, `<TYPE>_<ACTION>` and a few grouped ones) of an API client, as the practice reads them:
 * the grid Réglages offers and the words a client's rights are listed in. The node's codes never reach the screen.
 */

/** The resource types an office's software usually needs, in the order the grid shows them. */
export const RIGHT_TYPES = ['Patient', 'Encounter', 'DocumentReference', 'Binary', 'CommunicationRequest', 'Communication', 'Appointment', 'Practitioner', 'Organization'] as const;
export const RIGHT_ACTIONS = ['READ', 'SEARCH', 'CREATE', 'UPDATE'] as const;
/** Scopes that stand for a whole job rather than one type (docs/access.md). */
const GROUPED = ['SEND_TO_MSS', 'SEND_TO_EHR', 'SYNC'] as const;

export type RightType = (typeof RIGHT_TYPES)[number];
export type RightAction = (typeof RIGHT_ACTIONS)[number];
type Translate = (key: string, values?: Record<string, unknown>) => string;

export const scopeOf = (type: RightType, action: RightAction): string => `${type.toUpperCase()}_${action}`;

/** "Lire les dossiers des patients": a checkbox's accessible name. */
export const rightSentence = (t: Translate, type: RightType, action: RightAction): string =>
  t('settings.rights.sentence', { action: t(`settings.rights.actions.${action}`), what: t(`settings.rights.objects.${type}`) });

/**
 * A client's scopes as lines a person reads, one per type ("Dossiers des patients : lire, rechercher") then one
 * per grouped scope; a scope this UI does not know is said to be another right, with its code for support.
 */
export function describeScopes(t: Translate, scopes: readonly string[]): string[] {
  const given = new Set(scopes);
  const known = new Set<string>();
  const lines: string[] = [];
  for (const type of RIGHT_TYPES) {
    const actions = RIGHT_ACTIONS.filter((action) => given.has(scopeOf(type, action)));
    actions.forEach((action) => known.add(scopeOf(type, action)));
    if (actions.length) lines.push(t('settings.rights.line', { type: t(`settings.rights.types.${type}`), actions: actions.map((action) => t(`settings.rights.verbs.${action}`)).join(', ') }));
  }
  for (const scope of GROUPED) {
    if (!given.has(scope)) continue;
    known.add(scope);
    lines.push(t(`settings.rights.grouped.${scope}`));
  }
  for (const scope of scopes) if (!known.has(scope)) lines.push(t('settings.rights.other', { scope }));
  return lines;
}

/** A resource type of the node's counts in words ("Patient" → "Patients"); a type this UI does not name stays as it is. */
export function resourceTypeName(t: Translate, te: (key: string) => boolean, type: string): string {
  const key = `settings.rights.types.${type}`;
  return te(key) ? t(key) : type;
}
