import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { fhir } from '../api';
import { linkOf, matches, resourcesOf } from '../api/fhir-client';
import type { Bundle, Organization, Practitioner, PractitionerRole, Resource } from '../api/fhir-types';
import { PROFESSION_SYSTEM, SPECIALTY_SYSTEM, type Term } from '../directory/codes';
import { fold, parseDirectoryQuery, searchable, type DirectoryQuery } from '../directory/query';

/**
 * The national directory as the user types: one search per keystroke, the previous one aborted, and only the
 * latest answer shown. The list comes first from the Practitioner (and Organization) search alone; the roles of
 * the practitioners on screen and their organisations follow in one more request
 * (`PractitionerRole?practitioner=…&_include=PractitionerRole:organization`), except for those already known
 * from an earlier keystroke. Asking the node for `_revinclude` + `_include:iterate` with every keystroke cost
 * five to ten times the search itself (docs/ui.md).
 */

export interface RoleAt {
  role: PractitionerRole;
  organization?: Organization;
}

/** A practitioner's `roles` are empty until `rolesKnown` (they come in a second request). */
export type DirectoryEntry = { kind: 'practitioner'; key: string; practitioner: Practitioner; roles: RoleAt[]; rolesKnown: boolean } | { kind: 'organization'; key: string; organization: Organization };

export type DirectoryKind = 'all' | 'practitioner' | 'organization';

const PAGE_SIZE = 20;
/** Roles kept from earlier keystrokes (the same practitioners come back as a name is typed on), at the most. */
const KNOWN_ROLES_MAX = 2000;

export const useDirectoryStore = defineStore('directory', () => {
  const typed = ref('');
  const kind = ref<DirectoryKind>('all');
  const profession = ref<Term>();
  const specialty = ref<Term>();
  /** Words kept as names though they begin like a profession or specialty. */
  const asName = ref(new Set<string>());
  const results = shallowRef<DirectoryEntry[]>([]);
  const loading = ref(false);
  const error = ref<unknown>();
  /** True once a search has answered for the current query (tells "no result" from "not searched yet"). */
  const answered = ref(false);
  /** The box's text the results shown answer (they stay on screen while the next keystroke's search runs). */
  const resultsFor = ref<string>();
  let next: string | undefined;
  const hasMore = ref(false);
  let inFlight: AbortController | undefined;
  /** The text `results` answer, with every practitioner's roles in. */
  const rolesFor = ref<string>();
  const knownRoles = new Map<string, RoleAt[]>();

  const query = computed<DirectoryQuery>(() => parseDirectoryQuery(typed.value, { profession: profession.value, specialty: specialty.value }, asName.value));

  function practitionerParams(current: DirectoryQuery): Record<string, string | string[]> {
    return {
      ...(current.text ? { name: current.text } : {}),
      _count: String(PAGE_SIZE),
      ...(current.profession ? { '_has:PractitionerRole:practitioner:role': `${PROFESSION_SYSTEM}|${current.profession.code}` } : {}),
      ...(current.specialty ? { '_has:PractitionerRole:practitioner:specialty': `${SPECIALTY_SYSTEM}|${current.specialty.code}` } : {}),
    };
  }

  /** Searches for the box and filters as they are now. */
  async function search(): Promise<void> {
    inFlight?.abort();
    const current = query.value;
    const text = typed.value;
    if (!searchable(current)) {
      inFlight = undefined;
      results.value = [];
      answered.value = false;
      resultsFor.value = undefined;
      rolesFor.value = undefined;
      loading.value = false;
      error.value = undefined;
      hasMore.value = false;
      return;
    }
    const controller = (inFlight = new AbortController());
    loading.value = true;
    try {
      const wantPractitioners = kind.value !== 'organization';
      // Organisations have no profession or specialty: with those filters only practitioners can match.
      const wantOrganizations = kind.value !== 'practitioner' && !current.profession && !current.specialty && current.text !== '';
      const [practitioners, organizations] = await Promise.all([
        wantPractitioners ? fhir.search<Resource>('Practitioner', practitionerParams(current), controller.signal) : undefined,
        wantOrganizations ? fhir.search<Organization>('Organization', { name: current.text, _count: String(kind.value === 'organization' ? PAGE_SIZE : 5) }, controller.signal) : undefined,
      ]);
      if (controller.signal.aborted) return;
      const entries = [...(practitioners ? practitionerEntries(practitioners, knownRoles) : []), ...(organizations ? matches(organizations).map(organizationEntry) : [])];
      if (kind.value === 'all' && organizations) entries.sort((a, b) => Number(a.kind === 'organization') - Number(b.kind === 'organization'));
      results.value = entries;
      next = practitioners ? linkOf(practitioners, 'next') : organizations && linkOf(organizations, 'next');
      hasMore.value = next !== undefined;
      error.value = undefined;
      answered.value = true;
      resultsFor.value = text;
      if (entries.some((entry) => entry.kind === 'practitioner' && !entry.rolesKnown)) {
        rolesFor.value = undefined;
        const completed = await withRoles(entries, controller.signal);
        if (controller.signal.aborted) return;
        results.value = completed;
      }
      rolesFor.value = text;
    } catch (caught) {
      if (controller.signal.aborted) return;
      error.value = caught;
      results.value = [];
    } finally {
      if (inFlight === controller) loading.value = false;
    }
  }

  async function loadMore(): Promise<void> {
    if (!next || loading.value) return;
    loading.value = true;
    try {
      const page = await fhir.page<Resource>(next);
      const entries = page.entry?.[0]?.resource?.resourceType === 'Organization' ? matches(page as Bundle<Organization>).map(organizationEntry) : practitionerEntries(page, knownRoles);
      const shown = (results.value = [...results.value, ...entries]);
      const completed = await withRoles(entries);
      // Unless a new search has replaced the list meanwhile.
      if (results.value === shown) results.value = [...shown.slice(0, shown.length - entries.length), ...completed];
      next = linkOf(page, 'next');
      hasMore.value = next !== undefined;
    } catch (caught) {
      error.value = caught;
    } finally {
      loading.value = false;
    }
  }

  /** Recipients for a document, by name (practitioners and organisations): no search state touched. */
  async function findRecipients(text: string, signal?: AbortSignal): Promise<DirectoryEntry[]> {
    const [practitioners, organizations] = await Promise.all([fhir.search<Resource>('Practitioner', { name: text, _count: '8' }, signal), fhir.search<Organization>('Organization', { name: text, _count: '4' }, signal)]);
    return withRoles([...practitionerEntries(practitioners, knownRoles), ...matches(organizations).map(organizationEntry)], signal);
  }

  /**
   * The entries with every practitioner's roles and their organisations: one request for those not known yet.
   * Entries are replaced, not changed, so the list re-renders only the lines that got roles.
   */
  async function withRoles(entries: DirectoryEntry[], signal?: AbortSignal): Promise<DirectoryEntry[]> {
    const missing = entries.filter((entry) => entry.kind === 'practitioner' && !entry.rolesKnown).map((entry) => entry.key);
    if (missing.length === 0) return entries;
    const bundle = await fhir.search<Resource>('PractitionerRole', { practitioner: missing.join(','), _include: 'PractitionerRole:organization', _count: '100' }, signal);
    const found = rolesByPractitioner(bundle);
    if (knownRoles.size + missing.length > KNOWN_ROLES_MAX) knownRoles.clear();
    // Only when the page holds every role: a cut page would leave some practitioners short.
    const complete = linkOf(bundle, 'next') === undefined;
    for (const key of missing) if (complete) knownRoles.set(key, found.get(key) ?? []);
    return entries.map((entry) => (entry.kind === 'practitioner' && !entry.rolesKnown ? { ...entry, roles: found.get(entry.key) ?? [], rolesKnown: true } : entry));
  }

  function keepAsName(word: string): void {
    asName.value = new Set([...asName.value, fold(word)]);
  }

  return { typed, kind, profession, specialty, query, results, loading, error, answered, resultsFor, rolesFor, hasMore, search, loadMore, findRecipients, keepAsName };
});

/** The practitioners of a search Bundle, with their roles where `known` has them; the others wait for `withRoles`. */
function practitionerEntries(bundle: Bundle<Resource>, known: ReadonlyMap<string, RoleAt[]>): DirectoryEntry[] {
  return matches(bundle)
    .filter((resource): resource is Practitioner => resource.resourceType === 'Practitioner')
    .map((practitioner) => {
      const key = `Practitioner/${practitioner.id}`;
      const roles = known.get(key);
      return { kind: 'practitioner', key, practitioner, roles: roles ?? [], rolesKnown: roles !== undefined };
    });
}

/** The active roles of a Bundle by their practitioner's reference, each with its organisation if the Bundle has it. */
function rolesByPractitioner(bundle: Bundle<Resource>): Map<string, RoleAt[]> {
  const organizations = new Map(resourcesOf<Organization>(bundle, 'Organization').map((organization) => [`Organization/${organization.id}`, organization]));
  const rolesOf = new Map<string, RoleAt[]>();
  for (const role of resourcesOf<PractitionerRole>(bundle, 'PractitionerRole')) {
    if (role.active === false) continue;
    const key = role.practitioner?.reference ?? '';
    const list = rolesOf.get(key) ?? [];
    list.push({ role, organization: organizations.get(role.organization?.reference ?? '') });
    rolesOf.set(key, list);
  }
  return rolesOf;
}

function organizationEntry(organization: Organization): DirectoryEntry {
  return { kind: 'organization', key: `Organization/${organization.id}`, organization };
}
