// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorOf, FhirApiError, FhirClient, matches, NodeUnreachableError, resourcesOf, searchQuery } from '../../src-renderer/api/fhir-client';
import type { Bundle, Resource } from '../../src-renderer/api/fhir-types';

afterEach(() => vi.unstubAllGlobals());

const outcome = (text: string) => new Response(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'conflict', diagnostics: text }] }), { status: 409 });

describe('the FHIR client', () => {
  it('builds search queries: repeated parameters, modifiers, and no empty values', () => {
    expect(searchQuery({ name: 'martin lyon', date: ['ge2026-01-01', 'lt2026-01-08'], _count: 20, empty: '', gone: undefined, '_has:PractitionerRole:practitioner:role': 'sys|10' })).toBe(
      '?name=martin+lyon&date=ge2026-01-01&date=lt2026-01-08&_count=20&_has%3APractitionerRole%3Apractitioner%3Arole=sys%7C10',
    );
    expect(searchQuery({})).toBe('');
  });

  it('asks the node for no total on searches (the UI never shows it and the count costs the node), unless told to', async () => {
    const paths: string[] = [];
    const client = new FhirClient(async (path) => {
      paths.push(path);
      return new Response(JSON.stringify({ resourceType: 'Bundle', type: 'searchset' }), { status: 200 });
    });
    await client.search('Patient', { family: 'martin' });
    await client.search('Patient', { family: 'martin', _total: 'accurate' });
    expect(paths).toEqual(['/fhir/Patient?family=martin&_total=none', '/fhir/Patient?family=martin&_total=accurate']);
  });

  it('turns a refusal into the words of its OperationOutcome (details text first, else diagnostics)', async () => {
    const error = await errorOf(outcome('Practitioner/p1 is already booked from 10:00 to 10:30 (Appointment/a1)'));
    expect(error).toBeInstanceOf(FhirApiError);
    expect(error.status).toBe(409);
    expect(error.detail).toBe('Practitioner/p1 is already booked from 10:00 to 10:30 (Appointment/a1)');
    const withDetails = await errorOf(new Response(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'x', details: { text: 'Texte' }, diagnostics: 'diag' }] }), { status: 400 }));
    expect(withDetails.detail).toBe('Texte');
    expect((await errorOf(new Response(JSON.stringify({ error: 'invalid_grant', error_description: 'expired' }), { status: 400 }))).detail).toBe('expired');
    expect((await errorOf(new Response('<html>', { status: 502 }))).detail).toBe('');
  });

  it('updates with If-Match on the version edited, and asks for FHIR JSON', async () => {
    const seen: Array<{ path: string; init: RequestInit }> = [];
    const client = new FhirClient(async (path, init = {}) => {
      seen.push({ path, init });
      return new Response(JSON.stringify({ resourceType: 'Patient', id: 'p1', meta: { versionId: 'v2' } }), { status: 200 });
    });
    await client.update({ resourceType: 'Patient', id: 'p1', meta: { versionId: 'v1' } });
    expect(seen[0].path).toBe('/fhir/Patient/p1');
    const headers = new Headers(seen[0].init.headers);
    expect(headers.get('if-match')).toBe('W/"v1"');
    expect(headers.get('accept')).toBe('application/fhir+json');
    expect(seen[0].init.method).toBe('PUT');
  });

  it('uploads a Binary as the document itself, with its own content type', async () => {
    let sent: RequestInit | undefined;
    const client = new FhirClient(async (_path, init) => ((sent = init), new Response(JSON.stringify({ resourceType: 'Binary', id: 'b1', contentType: 'application/pdf' }), { status: 201 })));
    const binary = await client.uploadBinary(new Blob(['%PDF-1.4'], { type: 'application/pdf' }));
    expect(binary.id).toBe('b1');
    expect(new Headers(sent?.headers).get('content-type')).toBe('application/pdf');
  });

  it('says the node is unreachable when the request cannot be sent, and lets an abort through', async () => {
    const down = new FhirClient(async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(down.read('Patient', 'p1')).rejects.toBeInstanceOf(NodeUnreachableError);
    const aborted = new FhirClient(async () => {
      throw new DOMException('aborted', 'AbortError');
    });
    await expect(aborted.read('Patient', 'p1')).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('tells matches from includes in a search Bundle', () => {
    const bundle: Bundle<Resource> = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { resource: { resourceType: 'Practitioner', id: 'p1' }, search: { mode: 'match' } },
        { resource: { resourceType: 'PractitionerRole', id: 'r1' }, search: { mode: 'include' } },
      ],
    };
    expect(matches(bundle).map((resource) => resource.id)).toEqual(['p1']);
    expect(resourcesOf(bundle, 'PractitionerRole').map((resource) => resource.id)).toEqual(['r1']);
  });
});
