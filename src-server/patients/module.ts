import type { NodeModule } from '../rest/extensions';
import { PatientCompartment } from '../store/patient-compartment';
import type { Store } from '../store/store';
import { carePathwayOperation } from './care-pathway';
import { everythingOperation } from './everything';
import { patientIdentityRule } from './identity-rule';

/** The Patient API on top of the generic node (docs/patients.md): INS identity rules, `$everything`, `$care-pathway`. */
export function patientsModule(store: Store): NodeModule {
  const compartment = new PatientCompartment(store.db, store.repository.searchIndex);
  return { operations: [everythingOperation(compartment), carePathwayOperation(compartment)], writeRules: [patientIdentityRule] };
}
