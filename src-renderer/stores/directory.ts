import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { fhir } from '../api';
import { linkOf, matches, resourcesOf } from '../api/fhir-client';
import type { Bundle, Organization, Practitioner, PractitionerRole, Resource } from '../api/fhir-types';
import { PROFESSION_SYSTEM, SPECIALTY_SYSTEM, type Term } from '../directory/codes';
import { parseDirectoryQuery, searchable, type DirectoryQuery } from '../directory/query';

/**
 * The national directory as the user types: one search per keystroke, the previous one aborted, and only the
 * latest answer shown. A practitioner comes with their roles and the organisations of those roles in the same
 * Bundle (`_revinclude`, `_include:iterate`), so a result is complete when it arrives.
 */

export interface RoleAt {
  role: PractitionerRole;
  organization?: Organization;
}

export type DirectoryEntry = { kind: 'practitioner'; key: string; practitioner: Practitioner; roles: RoleAt[] } | { kind: 'organization'; key: string; organization: Organization };

export type DirectoryKind = 'all' | 'practitioner' | 'organization';

const PAGE_SIZE = 20;

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

  const query = computed<DirectoryQuery>(() => parseDirectoryQuery(typed.value, { profession: profession.value, specialty: specialty.value }, asName.value));

  function practitionerParams(current: DirectoryQuery): Record<string, string | string[]> {
    return {
      ...(current.text ? { name: current.text } : {}),
      _count: String(PAGE_SIZE),
      _revinclude: 'PractitionerRole:practitioner',
      '_include:iterate': 'PractitionerRole:organization',
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
      const entries = [...(practitioners ? practitionerEntries(practitioners) : []), ...(organizations ? matches(organizations).map(organizationEntry) : [])];
      if (kind.value === 'all' && organizations) entries.sort((a, b) => Number(a.kind === 'organization') - Number(b.kind === 'organization'));
      results.value = entries;
      next = practitioners ? linkOf(practitioners, 'next') : organizations && linkOf(organizations, 'next');
      hasMore.value = next !== undefined;
      error.value = undefined;
      answered.value = true;
      resultsFor.value = text;
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
      const entries = page.entry?.[0]?.resource?.resourceType === 'Organization' ? matches(page as Bundle<Organization>).map(organizationEntry) : practitionerEntries(page);
      results.value = [...results.value, ...entries];
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
    const [practitioners, organizations] = await Promise.all([
      fhir.search<Resource>('Practitioner', { name: text, _count: '8', _revinclude: 'PractitionerRole:practitioner', '_include:iterate': 'PractitionerRole:organization' }, signal),
      fhir.search<Organization>('Organization', { name: text, _count: '4' }, signal),
    ]);
    return [...practitionerEntries(practitioners), ...matches(organizations).map(organizationEntry)];
  }

  function keepAsName(word: string): void {
    asName.value = new Set([...asName.value, word.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()]);
  }

  function reset(): void {
    inFlight?.abort();
    typed.value = '';
    profession.value = undefined;
    specialty.value = undefined;
    asName.value = new Set();
    results.value = [];
    answered.value = false;
    resultsFor.value = undefined;
    hasMore.value = false;
    error.value = undefined;
  }

  return { typed, kind, profession, specialty, query, results, loading, error, answered, resultsFor, hasMore, search, loadMore, findRecipients, keepAsName, reset };
});

/** The practitioners of a search Bundle with their roles and those roles' organisations. */
export function practitionerEntries(bundle: Bundle<Resource>): DirectoryEntry[] {
  const organizations = new Map(resourcesOf<Organization>(bundle, 'Organization').map((organization) => [`Organization/${organization.id}`, organization]));
  const rolesOf = new Map<string, RoleAt[]>();
  for (const role of resourcesOf<PractitionerRole>(bundle, 'PractitionerRole')) {
    if (role.active === false) continue;
    const key = role.practitioner?.reference ?? '';
    const list = rolesOf.get(key) ?? [];
    list.push({ role, organization: organizations.get(role.organization?.reference ?? '') });
    rolesOf.set(key, list);
  }
  return matches(bundle)
    .filter((resource): resource is Practitioner => resource.resourceType === 'Practitioner')
    .map((practitioner) => ({ kind: 'practitioner', key: `Practitioner/${practitioner.id}`, practitioner, roles: rolesOf.get(`Practitioner/${practitioner.id}`) ?? [] }));
}

function organizationEntry(organization: Organization): DirectoryEntry {
  return { kind: 'organization', key: `Organization/${organization.id}`, organization };
}
