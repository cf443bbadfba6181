import { defineStore } from 'pinia';
import { shallowRef } from 'vue';
import { fhir } from '../api';
import { linkOf, resourcesOf } from '../api/fhir-client';
import type { Bundle, Organization, Patient, Practitioner, PractitionerRole, Resource } from '../api/fhir-types';

/**
 * The people and places references point at, by reference (`Patient/<id>`, `Practitioner/<id>`,
 * `Organization/<id>`), shared by every screen so that a reference is read as a name, never as `Type/id`. Screens
 * fill it from the `_include`s of their own searches (the node leaves out what the user may not see, which then
 * stays unnamed); a practitioner's trade comes from their roles, asked once per practitioner
 * (`PractitionerRole?practitioner=…&_include=PractitionerRole:organization`) and kept.
 */

export type Named = Patient | Practitioner | Organization;

/** Practitioners and trades kept at the most; past that the cache starts again (it is refilled by the next screens). */
const MAX_KEPT = 2000;
const NAMED_TYPES = ['Patient', 'Practitioner', 'Organization'] as const;

export const useNamesStore = defineStore('names', () => {
  const resources = shallowRef(new Map<string, Named>());
  /** A practitioner's profession (and specialty), else the place they work at; '' when their roles name neither. */
  const trades = shallowRef(new Map<string, string>());

  /** Keeps the patients, practitioners and organisations among `given` (a search's matches and includes). */
  function learn(given: Array<Resource | undefined>): void {
    const found = given.filter((resource): resource is Named => (NAMED_TYPES as readonly string[]).includes(resource?.resourceType ?? '') && Boolean(resource!.id));
    if (found.length === 0) return;
    const next = new Map(resources.value.size + found.length > MAX_KEPT ? [] : resources.value);
    for (const resource of found) next.set(`${resource.resourceType}/${resource.id}`, resource);
    resources.value = next;
  }

  /** Fetches the trades of the practitioners among `references` not asked for yet: one search, whose failure only leaves them without a trade. */
  async function learnTrades(references: Array<string | undefined>): Promise<void> {
    const missing = [...new Set(references)].filter((reference): reference is string => Boolean(reference?.startsWith('Practitioner/')) && !trades.value.has(reference!));
    if (missing.length === 0) return;
    let bundle: Bundle;
    try {
      bundle = await fhir.search('PractitionerRole', { practitioner: missing.join(','), _include: 'PractitionerRole:organization', _count: '100' });
    } catch {
      return;
    }
    learn(bundle.entry?.map((entry) => entry.resource) ?? []);
    const organizations = new Map(resourcesOf<Organization>(bundle, 'Organization').map((organization) => [`Organization/${organization.id}`, organization]));
    const found = new Map<string, string[]>();
    for (const role of resourcesOf<PractitionerRole>(bundle, 'PractitionerRole')) {
      if (role.active === false || !role.practitioner?.reference) continue;
      const list = found.get(role.practitioner.reference) ?? [];
      list.push(tradeOf(role, organizations.get(role.organization?.reference ?? '')));
      found.set(role.practitioner.reference, list);
    }
    const next = new Map(trades.value.size + missing.length > MAX_KEPT ? [] : trades.value);
    // Only when the page holds every role: a cut page would leave some practitioners short for good.
    const complete = linkOf(bundle, 'next') === undefined;
    for (const reference of missing) {
      const trade = [...new Set(found.get(reference) ?? [])].filter(Boolean).join(' · ');
      if (complete || trade) next.set(reference, trade);
    }
    trades.value = next;
  }

  /**
   * Names the practitioners and organisations among `references` not known yet (a record's authors and participants,
   * which its own search does not include): one search per type by `_id`, then their trades. A failure only leaves
   * them unnamed.
   */
  async function learnReferences(references: Array<string | undefined>): Promise<void> {
    const wanted = [...new Set(references)].filter((reference): reference is string => Boolean(reference) && !resources.value.has(reference!));
    await Promise.all(
      (['Practitioner', 'Organization'] as const).map(async (type) => {
        const ids = wanted.filter((reference) => reference.startsWith(`${type}/`)).map((reference) => reference.slice(type.length + 1));
        if (ids.length === 0) return;
        try {
          const bundle = await fhir.search(type, { _id: ids.join(','), _count: String(ids.length) });
          learn(bundle.entry?.map((entry) => entry.resource) ?? []);
        } catch {
          // Unnamed, as out of reach: the reference's display, else words.
        }
      }),
    );
    await learnTrades(references);
  }

  return { resources, trades, learn, learnTrades, learnReferences };
});

/** "Médecin — Médecine générale" from a role's codes; the organisation's name when the role has no code. */
function tradeOf(role: PractitionerRole, organization: Organization | undefined): string {
  const profession = role.code?.[0]?.coding?.[0]?.display ?? role.code?.[0]?.text;
  const specialty = role.specialty?.[0]?.coding?.[0]?.display ?? role.specialty?.[0]?.text;
  if (profession) return specialty ? `${profession} — ${specialty}` : profession;
  return specialty ?? organization?.name ?? '';
}
