import { DIRECTORY_TYPES } from '../fhir/directory';
import { badRequest, forbidden, methodNotAllowed } from '../fhir/outcome';
import type { FhirOperation, OperationCall, OperationDescription } from '../rest/extensions';
import { versionHeaders } from '../rest/interactions';
import type { BookingConflict, OpenConflict, OpenConflicts } from '../store/open-conflicts';
import type { Repository } from '../store/repository';
import { fieldDiff, isArchived } from '../store/merge';
import type { FhirRequest } from '../rest/types';
import { readPageSize } from './protocol';

/**
 * Conflicts as people see and close them (docs/sync.md): `GET [base]/$conflicts` and `GET [base]/Type/id/$conflicts`
 * list the open ones. An edit conflict comes with every leaf, the provisional winner and a field-level diff;
 * `POST [base]/Type/id/$resolve` stores the person's version with all the leaves as parents, which closes it on every
 * node it reaches, and records a Provenance of the resolution. A booking conflict names its two appointments, their
 * times and patients and the practitioner; moving or cancelling one closes it.
 */

type Json = Record<string, unknown>;

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
/** Open conflicts one page reads at most for a caller that may not see them all. */
const SCAN_BUDGET = 2000;

const CONFLICTS: OperationDescription = {
  description:
    'The open sync conflicts the caller may see: on the base, the edit conflicts in (type, id) order then the booking conflicts; on a resource, its own (none: an empty Parameters).',
  parameters: [
    { name: 'cursor', use: 'in', min: 0, max: '1', type: 'string', documentation: 'On the base: where the page starts, opaque (from the `next` part)' },
    { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: `On the base: conflicts a page holds (${DEFAULT_PAGE} by default, ${MAX_PAGE} at most)` },
    {
      name: 'conflict',
      use: 'out',
      min: 0,
      max: '*',
      documentation:
        'Each conflict: its kind, its targets and when it opened; an edit conflict the winning version, each leaf (versionId, archived, resource) and the differences between them; a booking conflict the practitioner and each appointment',
      parts: [
        { name: 'kind', use: 'out', min: 1, max: '1', type: 'code', documentation: 'edit | booking' },
        { name: 'target', use: 'out', min: 1, max: '2', type: 'Reference', documentation: 'The resource (edit), the two appointments in id order (booking)' },
        { name: 'opened', use: 'out', min: 1, max: '1', type: 'instant' },
        { name: 'winner', use: 'out', min: 0, max: '1', type: 'id' },
        { name: 'practitioner', use: 'out', min: 0, max: '1', type: 'Reference', documentation: 'Booking: whose time both appointments take' },
        {
          name: 'appointment',
          use: 'out',
          min: 0,
          max: '2',
          documentation: 'Booking: each appointment, in id order',
          parts: [
            { name: 'target', use: 'out', min: 1, max: '1', type: 'Reference' },
            { name: 'start', use: 'out', min: 1, max: '1', type: 'instant' },
            { name: 'end', use: 'out', min: 1, max: '1', type: 'instant' },
            { name: 'status', use: 'out', min: 1, max: '1', type: 'code' },
            { name: 'patient', use: 'out', min: 0, max: '1', type: 'Reference' },
          ],
        },
        {
          name: 'leaf',
          use: 'out',
          min: 0,
          max: '*',
          parts: [
            { name: 'versionId', use: 'out', min: 1, max: '1', type: 'id' },
            { name: 'archived', use: 'out', min: 1, max: '1', type: 'boolean' },
            { name: 'resource', use: 'out', min: 1, max: '1', type: 'Resource' },
          ],
        },
        {
          name: 'difference',
          use: 'out',
          min: 0,
          max: '*',
          parts: [
            { name: 'path', use: 'out', min: 1, max: '1', type: 'string' },
            { name: 'value', use: 'out', min: 1, max: '*', type: 'string', documentation: 'Parts versionId and json: the value of each leaf' },
          ],
        },
      ],
    },
    { name: 'next', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The URL of the next page' },
  ],
};

const RESOLVE: OperationDescription = {
  description: 'Settles the open conflict of a resource: the version the person settled on becomes the current one (409 if the conflict changed meanwhile). Not on directory types.',
  parameters: [
    { name: 'resource', use: 'in', min: 1, max: '1', type: 'Resource', documentation: 'The version settled on' },
    { name: 'leaf', use: 'in', min: 1, max: '*', type: 'id', documentation: 'Each version of the conflict the person saw' },
  ],
};

export class ConflictOperations {
  constructor(private readonly conflicts: OpenConflicts) {}

  operations(): FhirOperation[] {
    return [
      { name: '$conflicts', level: 'system', methods: ['GET'], definition: CONFLICTS, run: (call) => this.list(call) },
      { name: '$conflicts', level: 'instance', methods: ['GET'], definition: CONFLICTS, run: (call) => this.ofResource(call) },
      { name: '$resolve', level: 'instance', methods: ['POST'], definition: RESOLVE, run: (call) => this.resolve(call) },
    ];
  }

  /**
   * Open conflicts the caller may read: the edit conflicts in (type, id) order, then the booking conflicts in the
   * order of their key. The cursor is `Type/id` of the last edit conflict, or `booking/a/b/practitioner`.
   */
  private list({ request, base, interactions }: OperationCall) {
    const count = readPageSize(request.query.get('_count'), DEFAULT_PAGE, MAX_PAGE);
    const cursor = parseCursor(request.query.get('cursor') ?? '');
    const parameter: Json[] = [];
    let budget = SCAN_BUDGET;
    let next: string | undefined;
    /** Reads rows of one kind until the page is full, the budget spent or the rows run out (true); `read` after the last row read. */
    const scan = <Row>(read: (after: Row | undefined, limit: number) => Row[], part: (row: Row) => Json | undefined, keyOf: (row: Row) => string): boolean => {
      let last: Row | undefined;
      while (parameter.length < count && budget > 0) {
        const wanted = Math.min(count - parameter.length, budget);
        const rows = read(last, wanted);
        for (const row of rows) {
          last = row;
          budget--;
          const made = part(row);
          if (made) parameter.push(made);
        }
        if (rows.length < wanted) return true;
      }
      if (last !== undefined) next = keyOf(last);
      return false;
    };
    const visible = (type: string, id: string) => interactions.searchEngine.isVisible({ resourceType: type, id }, request, base);
    const editsDone =
      cursor.booking !== undefined ||
      scan<OpenConflict>(
        (after, limit) => this.conflicts.after(after?.resource_type ?? cursor.edit[0], after?.resource_id ?? cursor.edit[1], limit),
        (row) => (request.scopes.allows(row.resource_type, 'READ') && visible(row.resource_type, row.resource_id) ? editPart(interactions.repository, row) : undefined),
        (row) => `${row.resource_type}/${row.resource_id}`,
      );
    if (editsDone && parameter.length < count && budget > 0) {
      scan<BookingConflict>(
        (after, limit) => this.conflicts.bookingsAfter(after ? [after.appointment_a, after.appointment_b, after.practitioner_id] : cursor.booking, limit),
        (row) => (bookingVisible(row, request, visible) ? bookingPart(interactions.repository, row) : undefined),
        (row) => `booking/${row.appointment_a}/${row.appointment_b}/${row.practitioner_id}`,
      );
    } else if (editsDone && this.conflicts.bookingsAfter(undefined, 1).length > 0) {
      // The page filled up with the last edit conflicts: the booking conflicts follow.
      next = 'booking///';
    }
    if (next !== undefined) parameter.push({ name: 'next', valueString: `${base}/$conflicts?${new URLSearchParams({ cursor: next, _count: String(count) })}` });
    return { status: 200, headers: {}, body: { resourceType: 'Parameters', ...(parameter.length ? { parameter } : {}) } };
  }

  /** The open conflicts of one resource, edit then booking (none: an empty Parameters). The instance's read rules already applied. */
  private ofResource({ request, base, type, id, interactions }: OperationCall) {
    const edit = this.conflicts.of(type!, id!);
    const visible = (resourceType: string, other: string) => interactions.searchEngine.isVisible({ resourceType, id: other }, request, base);
    const bookings = type === 'Appointment' ? this.conflicts.bookingsOf(id!).filter((row) => bookingVisible(row, request, visible)) : [];
    const parameter = [...(edit ? [editPart(interactions.repository, edit)] : []), ...bookings.map((row) => bookingPart(interactions.repository, row))];
    return { status: 200, headers: {}, body: { resourceType: 'Parameters', ...(parameter.length ? { parameter } : {}) } };
  }

  /**
   * `POST Type/id/$resolve` with a Parameters: `resource` (the version the person settled on) and one `leaf` (valueId)
   * per version of the conflict they saw. The leaves must still be the conflict's (409 otherwise).
   */
  private resolve({ request, base, type, id, interactions }: OperationCall) {
    const resourceType = type!;
    if (DIRECTORY_TYPES.has(resourceType)) throw methodNotAllowed('directory-read-only', `${resourceType} is a directory resource: its conflicts are resolved on the directory node`, []);
    request.scopes.require(resourceType, 'UPDATE');
    const { resource, leaves } = readResolution(request.body, resourceType, id!);
    const { repository, searchEngine } = interactions;
    return repository.transaction(() => {
      const stored = repository.resolveConflict(resourceType, id!, resource, leaves);
      if (!searchEngine.isVisible({ resourceType, id: id! }, request, base)) {
        throw forbidden('outside-access', `This ${resourceType} would be outside your access`);
      }
      repository.create('Provenance', provenanceOf(stored, leaves, request.reach?.[0], repository.nodeId));
      return { status: 200, headers: versionHeaders(stored), body: stored.json, written: stored };
    });
  }
}

/** Where a `$conflicts` page starts: after an edit conflict (`Type/id`), or in the booking conflicts. */
function parseCursor(cursor: string): { edit: [string, string]; booking?: [string, string, string] } {
  const parts = cursor.split('/');
  if (parts[0] === 'booking' && parts.length === 4) return { edit: ['', ''], booking: [parts[1], parts[2], parts[3]] };
  return { edit: [parts[0] ?? '', parts[1] ?? ''] };
}

/** A booking conflict is listed to a caller who may read appointments and sees both of them. */
function bookingVisible(row: BookingConflict, request: FhirRequest, visible: (type: string, id: string) => boolean): boolean {
  return request.scopes.allows('Appointment', 'READ') && visible('Appointment', row.appointment_a) && visible('Appointment', row.appointment_b);
}

/** A booking conflict: its two appointments (times, status, patient), the practitioner, when it opened here. */
function bookingPart(repository: Repository, row: BookingConflict): Json {
  const ids = [row.appointment_a, row.appointment_b];
  const appointments = ids.map((id) => {
    const body = JSON.parse(repository.read('Appointment', id)!.json) as Json;
    const participants = Array.isArray(body.participant) ? (body.participant as Json[]) : [];
    const patient = participants.map((participant) => (participant.actor as Json | undefined)?.reference).find((reference) => typeof reference === 'string' && reference.startsWith('Patient/'));
    return {
      name: 'appointment',
      part: [
        { name: 'target', valueReference: { reference: `Appointment/${id}` } },
        { name: 'start', valueInstant: body.start },
        { name: 'end', valueInstant: body.end },
        { name: 'status', valueCode: body.status },
        ...(patient ? [{ name: 'patient', valueReference: { reference: patient } }] : []),
      ],
    };
  });
  return {
    name: 'conflict',
    part: [
      { name: 'kind', valueCode: 'booking' },
      ...ids.map((id) => ({ name: 'target', valueReference: { reference: `Appointment/${id}` } })),
      { name: 'opened', valueInstant: row.opened_at },
      { name: 'practitioner', valueReference: { reference: `Practitioner/${row.practitioner_id}` } },
      ...appointments,
    ],
  };
}

/** An edit conflict: the resource, when it opened, the winner, each leaf with its version, and where they differ. */
function editPart(repository: Repository, row: OpenConflict): Json {
  const { resource_type: type, resource_id: id } = row;
  const leaves = repository.leaves(type, id);
  const bodies = Object.fromEntries(leaves.map((leaf) => [leaf, JSON.parse(repository.vread(type, id, leaf)!.json) as Json]));
  const winner = repository.read(type, id)!.versionId;
  return {
    name: 'conflict',
    part: [
      { name: 'kind', valueCode: 'edit' },
      { name: 'target', valueReference: { reference: `${type}/${id}` } },
      { name: 'opened', valueInstant: row.opened_at },
      { name: 'winner', valueId: winner },
      ...leaves.map((leaf) => ({
        name: 'leaf',
        part: [{ name: 'versionId', valueId: leaf }, { name: 'archived', valueBoolean: isArchived(bodies[leaf]) }, { name: 'resource', resource: bodies[leaf] }],
      })),
      ...fieldDiff(bodies).map((difference) => ({
        name: 'difference',
        part: [
          { name: 'path', valueString: difference.path },
          ...leaves.map((leaf) => ({
            name: 'value',
            part: [{ name: 'versionId', valueId: leaf }, ...(difference.values[leaf] === undefined ? [] : [{ name: 'json', valueString: JSON.stringify(difference.values[leaf]) }])],
          })),
        ],
      })),
    ],
  };
}

function readResolution(body: unknown, type: string, id: string): { resource: Json; leaves: string[] } {
  const parameters = body as { resourceType?: unknown; parameter?: unknown } | undefined;
  if (parameters?.resourceType !== 'Parameters' || !Array.isArray(parameters.parameter)) {
    throw badRequest('resolve-invalid', 'Send a Parameters with the resolved `resource` and one `leaf` (valueId) per version of the conflict');
  }
  const list = parameters.parameter as Array<{ name?: unknown; resource?: unknown; valueId?: unknown }>;
  const resource = list.find((parameter) => parameter?.name === 'resource')?.resource as Json | undefined;
  if (typeof resource !== 'object' || resource === null || resource.resourceType !== type) throw badRequest('resolve-invalid', `The \`resource\` parameter must be the resolved ${type}`, 'resource');
  if (resource.id !== id) throw badRequest('resolve-invalid', `The resolved resource's id must be '${id}'`, 'resource.id');
  const leaves = list.filter((parameter) => parameter?.name === 'leaf').map((parameter) => parameter.valueId);
  if (leaves.length < 2 || !leaves.every((leaf): leaf is string => typeof leaf === 'string')) throw badRequest('resolve-invalid', 'Name every version of the conflict you resolve: one `leaf` (valueId) each', 'leaf');
  return { resource, leaves };
}

/** Who resolved, what from: the resolution's own record, replicated like any resource. */
function provenanceOf(stored: { resourceType: string; id: string; versionId: string; lastUpdated: string }, leaves: readonly string[], actor: readonly [string, string] | undefined, nodeId: string): Json {
  const url = `${stored.resourceType}/${stored.id}`;
  return {
    resourceType: 'Provenance',
    target: [{ reference: `${url}/_history/${stored.versionId}` }],
    recorded: stored.lastUpdated,
    activity: { system: 'http://hl7.org/fhir/v3/DataOperation', code: 'UPDATE', display: 'sync conflict resolved' },
    agent: [actor ? { whoReference: { reference: `${actor[0]}/${actor[1]}` } } : { whoUri: `urn:uuid:${nodeId}` }],
    entity: leaves.map((leaf) => ({ role: 'revision', whatReference: { reference: `${url}/_history/${leaf}` } })),
  };
}
