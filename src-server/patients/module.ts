import type { FhirOperation, WriteRule } from '../rest/extensions';
import type { Db } from '../store/database';
import { carePathwayOperation } from './care-pathway';
import { everythingOperation } from './everything';
import { patientIdentityRule } from './identity-rule';

/** The Patient API on top of the generic node (docs/patients.md): INS identity rules, `$everything`, `$care-pathway`. */
export interface PatientApi {
  operations: FhirOperation[];
  writeRules: WriteRule[];
}

export function patientApi(db: Db): PatientApi {
  return { operations: [everythingOperation(db), carePathwayOperation(db)], writeRules: [patientIdentityRule] };
}
