import type { SearchIndex } from '../search-index';
import { compartmentParameters } from '../../fhir/search/compartments';
import { localReference, qualified, type Clause, type SqlValue } from './conditions';

/**
 * Which resources a user (or a client acting for a user or a practice) may see, as an SQL condition on a
 * version, so that every path — read, search, counts, includes, chains, `_has`, conditional matches, Bundle
 * entries, and version by version history and vread — applies the same rule in the query itself (DESIGN §2):
 * - a Patient is seen when its `generalPractitioner` is someone the caller acts as (its reach: their Practitioner,
 *   their practices' Organizations, and for staff their practices' practitioners), or a colleague whose patients the
 *   caller follows too (COLLEAGUE references: a practice whose practitioners share their patients);
 * - a resource of the Patient compartment (Encounter, Coverage, DocumentReference…) follows its patient(s),
 *   through the compartment's parameters;
 * - documents, messages and appointments are also seen by those they name (author, sender, recipient,
 *   participant…): their reference parameters that may point at a Practitioner or an Organization;
 * - a DocumentReference is also seen by the recipients of a message carrying it (`payload`), and a Binary by whoever
 *   sees a DocumentReference whose content it is (`attachment-url`); the API lets a writer add such references only
 *   to what it already sees (documents/granting-references.ts);
 * - a Subscription belongs to the caller who created it (`resource_owners`): only that caller, the admins of its
 *   practices and the node's owner client see it, whatever their reach;
 * - everything else (the directory, terminology, definitions) is seen by every authenticated caller.
 * A reach holding a `Patient` (an app's grant confined by a SMART launch to the patient the user chose, auth/reach.ts)
 * sees of the patients and their compartments that one patient's only, still as the user sees them, and none of the
 * ways in by naming: what names the user, or is carried by a message, is about other patients too.
 */

/**
 * A resource the caller acts as, e.g. ['Practitioner', '123']; [COLLEAGUE, '123'], a practitioner whose patients the
 * caller follows; or ['Patient', '7']: the one patient a SMART launch confined it to (LAUNCH_PATIENT). Being part of
 * the reach, the confinement follows it wherever it goes: Bundle entries, operations, conditional matches, a
 * Subscription's notifications.
 */
export type ReachReference = readonly [type: string, id: string];

/**
 * The type of a reach reference to a Practitioner whose patients the caller follows without acting as them (a
 * colleague of a practice that shares its patients, auth/reach.ts): it opens the patients whose `generalPractitioner`
 * they are, and what follows those patients, never what names the colleague (their letters, their appointments).
 * Being no resource type, it matches nothing in the checks that ask whom the caller acts as (a sender, a recipient).
 */
export const COLLEAGUE = 'colleague';

/** Who is calling, for the resources that belong to their creator (OWNED_TYPES). */
export interface Caller {
  /** The API client's id, or `user:<id>` for a user (auth/tokens.ts Principal.clientId): what a creator is recorded as. */
  key: string;
  /** The practices (Organization ids) the caller belongs to or acts for. */
  practiceIds: readonly string[];
  /** A user with the admin role: also sees and manages what the callers of its practices created. */
  admin: boolean;
}

/**
 * Whom the rules apply to; FhirRequest and SearchRequest are viewers. No reach: every patient's data (the owner
 * client, practice-wide clients, the node's own work). No caller: every owned resource too (the owner client, the
 * node's own work).
 */
export interface Viewer {
  reach?: readonly ReachReference[];
  caller?: Caller;
}

/** Types whose resources belong to the caller who created them, recorded in `resource_owners` (interactions.ts). */
const OWNED_TYPES: ReadonlySet<string> = new Set(['Subscription']);
/** Types whose creator is recorded: the owned ones, and Binary, which its uploader names first (documents/document-content-rule.ts). */
const CREATOR_RECORDED: ReadonlySet<string> = new Set([...OWNED_TYPES, 'Binary']);

/** Types whose resources the people they name also see, besides those who follow the patient. */
const NAMED_PARTICIPANTS = new Set(['DocumentReference', 'DocumentManifest', 'Communication', 'CommunicationRequest', 'Appointment', 'AppointmentResponse']);
/** Messages that carry documents (the `payload` parameter of resources/liaison). */
const CARRIERS = ['Communication', 'CommunicationRequest'];
/** Compartment types that also exist apart from any patient (a practitioner's Schedule): those are seen by all. */
const SHARED_WITHOUT_PATIENT = new Set(['Schedule']);
const PARTICIPANT_TYPES = ['Practitioner', 'Organization'];
/** The type of the reach reference that confines a caller to one patient's compartment. */
export const LAUNCH_PATIENT = 'Patient';

export class Visibility {
  private aliases = 0;

  /** Those the caller acts as: what names them is seen. */
  private readonly reach: readonly ReachReference[];
  /** The one patient the caller is confined to, if any. */
  private readonly patient: string | undefined;
  /** Those whose patients the caller follows: the reach and the colleagues, as Practitioners. */
  private readonly followers: readonly ReachReference[];

  constructor(
    private readonly index: SearchIndex,
    /** This node's FHIR base: absolute references to it are local. */
    private readonly base: string,
    private readonly viewer: Viewer,
  ) {
    const reach = viewer.reach ?? [];
    this.patient = reach.find(([type]) => type === LAUNCH_PATIENT)?.[1];
    this.reach = reach.filter(([type]) => type !== COLLEAGUE && type !== LAUNCH_PATIENT);
    this.followers = reach.filter(([type]) => type !== LAUNCH_PATIENT).map(([type, id]) => (type === COLLEAGUE ? ['Practitioner', id] : [type, id]));
  }

  /** Whether resources of this type belong to the caller who created them. */
  static isOwned(resourceType: string): boolean {
    return OWNED_TYPES.has(resourceType);
  }

  /** Whether the node records who created a resource of this type through the API (`resource_owners`). */
  static recordsCreator(resourceType: string): boolean {
    return CREATOR_RECORDED.has(resourceType);
  }

  /** Whether every caller with a reach sees resources of this type (no condition on the reach). */
  static isShared(resourceType: string): boolean {
    return resourceType !== 'Patient' && resourceType !== 'Binary' && !OWNED_TYPES.has(resourceType) && compartmentParameters('Patient', resourceType) === undefined;
  }

  /** Whether the rules may hide some resources of this type from the viewer: when not, `clause` is undefined and checks may be skipped. */
  static restricts(viewer: Viewer, resourceType: string): boolean {
    if (OWNED_TYPES.has(resourceType)) return viewer.caller !== undefined;
    return viewer.reach !== undefined && !Visibility.isShared(resourceType);
  }

  /** Whether a version of this type is judged by its resource's id as well as its own references (who carries it, who owns it). */
  static judgesById(resourceType: string): boolean {
    return resourceType === 'Binary' || resourceType === 'DocumentReference' || OWNED_TYPES.has(resourceType);
  }

  /**
   * The condition a `resourceType` version (its vseq written by `vseq`) meets when the caller may see it; undefined:
   * always. The version's own reference rows are read from `ownRows`: the index table for a current version, or a
   * table of the same columns holding those of an earlier one (SearchEngine.isVersionVisible); what the version
   * points at (its patient, a carrier) is judged by its current version.
   */
  clause(resourceType: string, vseq: string, ownRows = 'idx_reference'): Clause | undefined {
    if (!Visibility.restricts(this.viewer, resourceType)) return undefined;
    if (OWNED_TYPES.has(resourceType)) return this.ownedByCaller(resourceType, vseq, this.viewer.caller!);
    if (resourceType === 'Patient') return this.patient === undefined ? this.followed(vseq, ownRows) : all([this.followed(vseq, ownRows), { sql: `${idOf(vseq)} = ?`, values: [this.patient] }]);
    if (resourceType === 'Binary') return this.contentOfVisibleDocument(vseq);
    const ways = [this.aboutFollowedPatient(resourceType, vseq, ownRows)];
    if (this.patient === undefined && NAMED_PARTICIPANTS.has(resourceType)) ways.push(this.namesReach(resourceType, vseq, ownRows));
    if (this.patient === undefined && resourceType === 'DocumentReference') ways.push(...CARRIERS.map((carrier) => this.carriedBy(carrier, vseq)));
    if (SHARED_WITHOUT_PATIENT.has(resourceType)) ways.push(negate(this.aboutAnyPatient(resourceType, vseq, ownRows)));
    return any(ways);
  }

  private alias(): string {
    return `vis${++this.aliases}`;
  }

  /** `(t.target_type, t.target_id)` is one of `references` (by default, those the caller acts as). */
  private inReach(row: string, references = this.reach): Clause {
    if (references.length === 0) return { sql: '0', values: [] };
    return {
      sql: references.map(() => `(${row}.target_type = ? AND ${row}.target_id = ?)`).join(' OR '),
      values: references.flatMap((reference) => [reference[0], reference[1]]),
    };
  }

  /** The Patient version `vseq` has a general practitioner in reach, or a colleague's. */
  private followed(vseq: string, ownRows = 'idx_reference'): Clause {
    const g = this.alias();
    return this.exists(`${ownRows} ${g}`, [{ sql: `${g}.vseq = ${vseq} AND ${this.index.rowsOf('Patient', 'general-practitioner', qualified(g))}`, values: [] }, this.inReach(g, this.followers), this.local(g)]);
  }

  /** The current Patient with id `id` (an SQL expression) is followed. */
  private followedById(id: string): Clause {
    const p = this.alias();
    const followed = this.followed(`${p}.vseq`);
    return { sql: `EXISTS (SELECT 1 FROM resources ${p} WHERE ${p}.resource_type = 'Patient' AND ${p}.resource_id = ${id} AND ${followed.sql})`, values: followed.values };
  }

  /** The compartment's reference rows of a version that point at a local Patient, with more conditions on them. */
  private patientLinks(resourceType: string, vseq: string, ownRows: string, more: (row: string) => Clause[]): Clause {
    const codes = (compartmentParameters('Patient', resourceType) ?? []).filter((code) => this.index.definitions.ofType(resourceType).get(code)?.type === 'reference');
    if (codes.length === 0) return { sql: '0', values: [] };
    const e = this.alias();
    const rows = codes.map((code) => `(${this.index.rowsOf(resourceType, code, qualified(e))})`).join(' OR ');
    return this.exists(`${ownRows} ${e}`, [{ sql: `${e}.vseq = ${vseq} AND (${rows}) AND ${e}.target_type = 'Patient'`, values: [] }, this.local(e), ...more(e)]);
  }

  /** The version points at a followed patient (at the one the caller is confined to, if it is). */
  private aboutFollowedPatient(resourceType: string, vseq: string, ownRows: string): Clause {
    const { patient } = this;
    if (patient === undefined) return this.patientLinks(resourceType, vseq, ownRows, (row) => [this.followedById(`${row}.target_id`)]);
    return this.patientLinks(resourceType, vseq, ownRows, (row) => [{ sql: `${row}.target_id = ?`, values: [patient] }, this.followedById(`${row}.target_id`)]);
  }

  private aboutAnyPatient(resourceType: string, vseq: string, ownRows: string): Clause {
    return this.patientLinks(resourceType, vseq, ownRows, () => []);
  }

  /** The version names someone in reach through a reference parameter that may point at a Practitioner or an Organization. */
  private namesReach(resourceType: string, vseq: string, ownRows: string): Clause {
    const codes = [...this.index.definitions.ofType(resourceType).values()]
      .filter((definition) => definition.type === 'reference' && definition.code !== 'payload' && (definition.target ?? []).some((type) => PARTICIPANT_TYPES.includes(type)))
      .map((definition) => definition.code);
    if (codes.length === 0) return { sql: '0', values: [] };
    const x = this.alias();
    const rows = codes.map((code) => `(${this.index.rowsOf(resourceType, code, qualified(x))})`).join(' OR ');
    return this.exists(`${ownRows} ${x}`, [{ sql: `${x}.vseq = ${vseq} AND (${rows})`, values: [] }, this.inReach(x), this.local(x)]);
  }

  /** A visible message of type `carrier` carries the DocumentReference version `vseq`. */
  private carriedBy(carrier: string, vseq: string): Clause {
    const c = this.alias();
    const carrierVisible = this.clause(carrier, `${c}.vseq`) ?? { sql: '1', values: [] };
    return this.exists(`idx_reference ${c}`, [
      { sql: `${this.index.rowsOf(carrier, 'payload', qualified(c))} AND ${c}.target_type = 'DocumentReference' AND ${c}.target_id = ${idOf(vseq)}`, values: [] },
      this.local(c),
      carrierVisible,
    ]);
  }

  /** The Binary version `vseq` is the content of a visible DocumentReference (`Binary/<id>`, relative or absolute). */
  private contentOfVisibleDocument(vseq: string): Clause {
    const u = this.alias();
    const documentVisible = this.clause('DocumentReference', `${u}.vseq`) ?? { sql: '1', values: [] };
    return this.exists(`idx_uri ${u}`, [
      { sql: `${this.index.rowsOf('DocumentReference', 'attachment-url', qualified(u))} AND ${u}.value IN ('Binary/' || ${idOf(vseq)}, ? || '/Binary/' || ${idOf(vseq)})`, values: [this.base] },
      documentVisible,
    ]);
  }

  /**
   * The resource of version `vseq` was created by the caller, or — for an admin — by a caller of one of its
   * practices. One with no owner row (it came by sync, or the owner client made it) is the owner client's alone.
   */
  private ownedByCaller(resourceType: string, vseq: string, caller: Caller): Clause {
    const o = this.alias();
    const practices = caller.admin ? caller.practiceIds : [];
    const mine = [`${o}.owner_key = ?`, ...practices.map(() => `instr(' ' || ${o}.practices || ' ', ?) > 0`)];
    return {
      sql: `EXISTS (SELECT 1 FROM resource_owners ${o} WHERE ${o}.resource_type = ? AND ${o}.resource_id = ${idOf(vseq)} AND (${mine.join(' OR ')}))`,
      values: [resourceType, caller.key, ...practices.map((practice) => ` ${practice} `)],
    };
  }

  private local(row: string): Clause {
    return localReference(this.base, qualified(row));
  }

  private exists(from: string, conditions: Clause[]): Clause {
    return { sql: `EXISTS (SELECT 1 FROM ${from} WHERE ${conditions.map((clause) => `(${clause.sql})`).join(' AND ')})`, values: conditions.flatMap((clause) => clause.values) };
  }
}

/** The resource id of the version `vseq`. */
const idOf = (vseq: string) => `(SELECT resource_id FROM resource_versions WHERE vseq = ${vseq})`;

/**
 * Any of the clauses, as CASE rather than OR: SQLite 3.53.2 answered `EXISTS (…) OR EXISTS (…)` over the same index
 * table true when both were false (tests/src-server/auth/patient-access.test.ts caught it); CASE evaluates each in turn.
 */
function any(clauses: Clause[]): Clause {
  if (clauses.length === 1) return clauses[0];
  return { sql: `CASE ${clauses.map((clause) => `WHEN ${clause.sql} THEN 1`).join(' ')} ELSE 0 END`, values: clauses.flatMap((clause): SqlValue[] => clause.values) };
}

function all(clauses: Clause[]): Clause {
  return { sql: clauses.map((clause) => `(${clause.sql})`).join(' AND '), values: clauses.flatMap((clause): SqlValue[] => clause.values) };
}

function negate(clause: Clause): Clause {
  return { sql: `NOT (${clause.sql})`, values: clause.values };
}
