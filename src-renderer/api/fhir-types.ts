/**
 * The parts of the FHIR STU3 resources this UI reads and writes. Deliberately partial: the node validates against
 * the full model; these types only keep the UI's own code honest.
 */

export interface Reference {
  reference?: string;
  display?: string;
  /** A logical reference: whom it names by identifier (a letter's patient by INS). */
  identifier?: Identifier;
}

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
  extension?: Extension[];
}

export interface Identifier {
  system?: string;
  value?: string;
  type?: CodeableConcept;
}

export interface HumanName {
  use?: string;
  family?: string;
  given?: string[];
  prefix?: string[];
  text?: string;
}

export interface ContactPoint {
  system?: 'phone' | 'fax' | 'email' | 'pager' | 'url' | 'sms' | 'other';
  value?: string;
  use?: string;
  extension?: Extension[];
}

export interface Extension {
  url: string;
  valueCode?: string;
  valueString?: string;
  valueInteger?: number;
  valueInstant?: string;
  valueReference?: Reference;
  valueCoding?: Coding;
  valueAddress?: Address;
  valueDuration?: { value?: number; unit?: string; system?: string; code?: string };
  extension?: Extension[];
}

export interface Address {
  use?: string;
  line?: string[];
  city?: string;
  postalCode?: string;
  country?: string;
  text?: string;
  extension?: Extension[];
}

export interface Period {
  start?: string;
  end?: string;
}

export interface Meta {
  versionId?: string;
  lastUpdated?: string;
  /** The node tags a resource with an open conflict (docs/sync.md, "Conflicts on a plain read"). */
  tag?: Coding[];
}

export interface Resource {
  resourceType: string;
  id?: string;
  meta?: Meta;
}

export interface Practitioner extends Resource {
  resourceType: 'Practitioner';
  active?: boolean;
  identifier?: Identifier[];
  name?: HumanName[];
  telecom?: ContactPoint[];
  address?: Address[];
  qualification?: Array<{ code: CodeableConcept }>;
}

export interface PractitionerRole extends Resource {
  resourceType: 'PractitionerRole';
  active?: boolean;
  practitioner?: Reference;
  organization?: Reference;
  code?: CodeableConcept[];
  specialty?: CodeableConcept[];
  telecom?: ContactPoint[];
}

export interface Organization extends Resource {
  resourceType: 'Organization';
  active?: boolean;
  identifier?: Identifier[];
  name?: string;
  alias?: string[];
  type?: CodeableConcept[];
  telecom?: ContactPoint[];
  address?: Address[];
}

export interface Patient extends Resource {
  resourceType: 'Patient';
  extension?: Extension[];
  active?: boolean;
  identifier?: Identifier[];
  name?: HumanName[];
  gender?: 'male' | 'female' | 'other' | 'unknown';
  birthDate?: string;
  telecom?: ContactPoint[];
  address?: Address[];
  generalPractitioner?: Reference[];
}

export interface Encounter extends Resource {
  resourceType: 'Encounter';
  status: string;
  class?: Coding;
  type?: CodeableConcept[];
  reason?: CodeableConcept[];
  subject?: Reference;
  period?: Period;
  participant?: Array<{ individual?: Reference }>;
}

export interface EpisodeOfCare extends Resource {
  resourceType: 'EpisodeOfCare';
  status: string;
  type?: CodeableConcept[];
  patient: Reference;
  period?: Period;
  careManager?: Reference;
}

export interface Attachment {
  contentType?: string;
  url?: string;
  title?: string;
  size?: number;
  creation?: string;
}

export interface DocumentReference extends Resource {
  resourceType: 'DocumentReference';
  status: 'current' | 'superseded' | 'entered-in-error';
  type: CodeableConcept;
  subject?: Reference;
  indexed: string;
  created?: string;
  author?: Reference[];
  description?: string;
  content: Array<{ attachment: Attachment }>;
  /** A letter's patient as it came, when only its identity is known (a contained Patient). */
  contained?: Resource[];
  extension?: Extension[];
  /** `related`: a copy filed by `$attach` names the letter it copies. */
  context?: { related?: Array<{ ref?: Reference }> };
}

export interface CommunicationRequest extends Resource {
  resourceType: 'CommunicationRequest';
  status: string;
  subject?: Reference;
  recipient?: Reference[];
  payload?: Array<{ contentReference?: Reference; contentString?: string }>;
  sender?: Reference;
  requester?: { agent: Reference };
  authoredOn?: string;
  topic?: Reference[];
}

export interface Communication extends Resource {
  resourceType: 'Communication';
  status: string;
  basedOn?: Reference[];
  subject?: Reference;
  recipient?: Reference[];
  sender?: Reference;
  medium?: CodeableConcept[];
  payload?: Array<{ contentReference?: Reference; contentString?: string }>;
  sent?: string;
  received?: string;
  notDone?: boolean;
  notDoneReason?: CodeableConcept;
  /** An internal delivery's patient as the sender identifies them (`patient-identity`). */
  contained?: Resource[];
  extension?: Extension[];
}

export interface AppointmentParticipant {
  actor?: Reference;
  status: 'accepted' | 'declined' | 'tentative' | 'needs-action';
  required?: string;
}

export interface Appointment extends Resource {
  resourceType: 'Appointment';
  status: 'proposed' | 'pending' | 'booked' | 'arrived' | 'fulfilled' | 'cancelled' | 'noshow' | 'entered-in-error';
  appointmentType?: CodeableConcept;
  description?: string;
  start?: string;
  end?: string;
  participant: AppointmentParticipant[];
  comment?: string;
}

/** A terminology of the node or the practice, such as its appointment types (docs/appointments.md). */
export interface CodeSystem extends Resource {
  resourceType: 'CodeSystem';
  url?: string;
  concept?: Array<{ code: string; display?: string; extension?: Extension[] }>;
}

export interface Binary extends Resource {
  resourceType: 'Binary';
  contentType: string;
}

export interface OperationOutcome extends Resource {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: string; code: string; diagnostics?: string; details?: CodeableConcept; expression?: string[]; extension?: Extension[] }>;
}

export interface BundleEntry<T extends Resource = Resource> {
  fullUrl?: string;
  resource?: T;
  search?: { mode?: 'match' | 'include' | 'outcome' };
}

export interface Bundle<T extends Resource = Resource> extends Resource {
  resourceType: 'Bundle';
  type: string;
  total?: number;
  link?: Array<{ relation: string; url: string }>;
  entry?: Array<BundleEntry<T>>;
}

/** A parameter of an operation: a value, a resource, or parts (nested parameters). */
export interface ParametersParameter {
  name: string;
  valueString?: string;
  valueId?: string;
  valueCode?: string;
  valueInstant?: string;
  valueBoolean?: boolean;
  valueReference?: Reference;
  valueCoding?: Coding;
  resource?: Resource;
  part?: ParametersParameter[];
}

export interface Parameters extends Resource {
  resourceType: 'Parameters';
  parameter?: ParametersParameter[];
}
