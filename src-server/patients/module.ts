import type { FhirOperation, WriteRule } from '../rest/extensions';
import type { Db } from '../store/database';
import { PatientCompartment } from '../store/patient-compartment';
import type { SearchIndex } from '../store/search-index';
import { carePathwayOperation } from './care-pathway';
import { everythingOperation } from './everything';
import { patientIdentityRule } from './identity-rule';

/** The Patient API on top of the generic node (docs/patients.md): INS identity rules, `$everything`, `$care-pathway`. */
export interface PatientApi {
  operations: FhirOperation[];
  writeRules: WriteRule[];
}

export function patientApi(db: Db, index: SearchIndex): PatientApi {
  const compartment = new PatientCompartment(db, index);
  return { operations: [everythingOperation(compartment), carePathwayOperation(compartment)], writeRules: [patientIdentityRule] };
}
