// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROFESSION_SYSTEM, SPECIALTY_SYSTEM } from '../../../src-renderer/directory/codes';
import { parseDirectoryQuery, searchable } from '../../../src-renderer/directory/query';
import { useDirectoryStore } from '../../../src-renderer/stores/directory';
import { bundle, FakeNode, loggedIn } from '../fake-node';

let node: FakeNode;
beforeEach(async () => {
  node = new FakeNode().install();
  await loggedIn(node);
});
afterEach(() => vi.unstubAllGlobals());

const ROLE = { resourceType: 'PractitionerRole', id: 'r1', __include: true, practitioner: { reference: 'Practitioner/p1' }, organization: { reference: 'Organization/o1' } };
const ORG = { resourceType: 'Organization', id: 'o1', __include: true, name: 'CABINET MÉDICAL', address: [{ city: 'LYON' }] };
const PRACTITIONER = { resourceType: 'Practitioner', id: 'p1', name: [{ family: 'MARTIN', given: ['CLAIRE'], prefix: ['Dr'] }] };

describe('the directory query', () => {
  it('reads names and cities as words for `name`, and profession or specialty words as filters', () => {
    expect(parseDirectoryQuery('martin lyon')).toMatchObject({ text: 'martin lyon', profession: undefined, specialty: undefined });
    const query = parseDirectoryQuery('cardio martin lyon');
    expect(query.text).toBe('martin lyon');
    expect(query.specialty?.code).toBe('SM04');
    expect(query.understood).toEqual([{ kind: 'specialty', term: query.specialty, word: 'cardio' }]);
    expect(parseDirectoryQuery('Kiné Reims').profession?.code).toBe('70');
    expect(parseDirectoryQuery('généraliste').specialty?.code).toBe('SM54');
    // A word kept as a name stays a name; three letters never make a filter.
    expect(parseDirectoryQuery('pedi', {}, new Set(['pedi'])).text).toBe('pedi');
    expect(parseDirectoryQuery('ped').text).toBe('ped');
  });

  it('needs two letters, or a filter alone', () => {
    expect(searchable(parseDirectoryQuery('m'))).toBe(false);
    expect(searchable(parseDirectoryQuery('ma'))).toBe(true);
    expect(searchable(parseDirectoryQuery('cardiologue'))).toBe(true);
  });
});

describe('the directory store', () => {
  it('lists practitioners and organisations from the searches alone, then fills in the practitioners’ roles and their organisations', async () => {
    node.on('GET', /^\/fhir\/Practitioner\?/, { json: bundle(PRACTITIONER) })
      .on('GET', /^\/fhir\/Organization\?/, { json: bundle({ resourceType: 'Organization', id: 'o2', name: 'MARTIN SANTÉ' }) })
      .on('GET', /^\/fhir\/PractitionerRole\?/, { json: bundle({ ...ROLE, __include: false }, ORG) });
    const directory = useDirectoryStore();
    directory.typed = 'mart lyon';
    await directory.search();

    const practitioners = node.callsTo('GET', /^\/fhir\/Practitioner\?/)[0].url.searchParams;
    expect(practitioners.get('name')).toBe('mart lyon');
    expect(practitioners.get('_count')).toBe('20');
    expect(practitioners.has('_revinclude')).toBe(false);
    expect(practitioners.has('_include:iterate')).toBe(false);
    expect(node.callsTo('GET', /^\/fhir\/Organization\?/)[0].url.searchParams.get('name')).toBe('mart lyon');
    const roles = node.callsTo('GET', /^\/fhir\/PractitionerRole\?/)[0].url.searchParams;
    expect(roles.get('practitioner')).toBe('Practitioner/p1');
    expect(roles.get('_include')).toBe('PractitionerRole:organization');
    expect(directory.results.map((entry) => entry.key)).toEqual(['Practitioner/p1', 'Organization/o2']);
    const first = directory.results[0];
    expect(first.kind === 'practitioner' && first.rolesKnown && first.roles[0].organization?.name).toBe('CABINET MÉDICAL');
    expect(directory.answered).toBe(true);
    expect([directory.resultsFor, directory.rolesFor]).toEqual(['mart lyon', 'mart lyon']);
  });

  it('shows the list before the roles arrive, keeps the previous list until then, and asks roles only for practitioners it does not know', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    node.on('GET', /^\/fhir\/Organization\?/, { json: bundle() })
      .on('GET', /^\/fhir\/Practitioner\?name=mar&/, { json: bundle(PRACTITIONER) })
      .on('GET', /^\/fhir\/PractitionerRole\?/, { json: bundle({ ...ROLE, __include: false }, ORG) });
    const directory = useDirectoryStore();
    directory.typed = 'mar';
    await directory.search();

    node.on('GET', /^\/fhir\/Practitioner\?name=mart&/, { json: bundle(PRACTITIONER, { ...PRACTITIONER, id: 'p2' }) });
    node.on('GET', /^\/fhir\/PractitionerRole\?/, async () => (await held, { json: bundle() }));
    directory.typed = 'mart';
    const searching = directory.search();
    expect(directory.resultsFor).toBe('mar');
    expect(directory.results.map((entry) => entry.key)).toEqual(['Practitioner/p1']);
    await vi.waitFor(() => expect(directory.resultsFor).toBe('mart'), { timeout: 15_000 });
    expect(directory.rolesFor).toBeUndefined();
    const [known, unknown] = directory.results;
    expect(known.kind === 'practitioner' && known.rolesKnown && known.roles.length).toBe(1);
    expect(unknown.kind === 'practitioner' && unknown.rolesKnown).toBe(false);
    release();
    await searching;
    expect(node.callsTo('GET', /^\/fhir\/PractitionerRole\?/).map((call) => call.url.searchParams.get('practitioner'))).toEqual(['Practitioner/p1', 'Practitioner/p2']);
    expect(directory.rolesFor).toBe('mart');
    expect(directory.results[1]).toMatchObject({ rolesKnown: true, roles: [] });
  });

  it('finds recipients with their roles in two light requests', async () => {
    node.on('GET', /^\/fhir\/Practitioner\?/, { json: bundle(PRACTITIONER) })
      .on('GET', /^\/fhir\/Organization\?/, { json: bundle() })
      .on('GET', /^\/fhir\/PractitionerRole\?/, { json: bundle({ ...ROLE, __include: false }, ORG) });
    const found = await useDirectoryStore().findRecipients('martin');
    expect(node.callsTo('GET', /^\/fhir\/Practitioner\?/)[0].url.searchParams.get('_count')).toBe('8');
    expect(found[0]).toMatchObject({ key: 'Practitioner/p1', rolesKnown: true, roles: [{ organization: { name: 'CABINET MÉDICAL' } }] });
  });

  it('turns typed and chosen filters into _has on the practitioners’ roles, and leaves organisations out', async () => {
    node.on('GET', /^\/fhir\/Practitioner\?/, { json: bundle() });
    const directory = useDirectoryStore();
    directory.typed = 'cardio lyon';
    directory.profession = { code: '10', label: 'Médecin' };
    await directory.search();
    const params = node.callsTo('GET', /^\/fhir\/Practitioner\?/)[0].url.searchParams;
    expect(params.get('name')).toBe('lyon');
    expect(params.get('_has:PractitionerRole:practitioner:role')).toBe(`${PROFESSION_SYSTEM}|10`);
    expect(params.get('_has:PractitionerRole:practitioner:specialty')).toBe(`${SPECIALTY_SYSTEM}|SM04`);
    expect(node.callsTo('GET', /^\/fhir\/Organization/)).toEqual([]);
  });

  it('shows only the latest keystroke’s answer: an earlier search still running is aborted', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    node.on('GET', /^\/fhir\/Practitioner\?name=ma&/, async () => (await held, { json: bundle({ ...PRACTITIONER, id: 'stale' }) }));
    node.on('GET', /^\/fhir\/Practitioner\?name=mar&/, { json: bundle(PRACTITIONER) });
    node.on('GET', /^\/fhir\/Organization/, { json: bundle() }).on('GET', /^\/fhir\/PractitionerRole\?/, { json: bundle() });
    const directory = useDirectoryStore();
    directory.typed = 'ma';
    const first = directory.search();
    directory.typed = 'mar';
    await directory.search();
    release();
    await first;
    expect(directory.results.map((entry) => entry.key)).toEqual(['Practitioner/p1']);
  });

  it('keeps the node’s words when a search fails', async () => {
    node.on('GET', /^\/fhir\/Practitioner/, { status: 400, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'name needs two characters' }] } });
    node.on('GET', /^\/fhir\/Organization/, { json: bundle() });
    const directory = useDirectoryStore();
    directory.typed = 'x1';
    await directory.search();
    expect(directory.error).toMatchObject({ status: 400, detail: 'name needs two characters' });
    expect(directory.results).toEqual([]);
  });
});
