import { branchesFor } from './src-server/fhir/search/extract.ts';
import { parametersOfType } from './src-server/fhir/search/parameters.ts';
import { resourceTypes } from './src-server/fhir/validation/model.ts';
import fhirpath from 'fhirpath';
import model from 'fhirpath/fhir-context/stu3';
const shapes = new Map<string, number>();
for (const t of resourceTypes()) for (const [c, d] of parametersOfType(t)) { if (!d.expression) continue; for (const b of branchesFor(d.expression, t)) {
  const shape = /^[A-Za-z]+(\.[A-Za-z]+)*$/.test(b) ? 'dotted' : /^[A-Za-z]+(\.[A-Za-z]+)*\.as\([A-Za-z]+\)$/.test(b) ? 'dotted.as' : /^[A-Za-z]+(\.[A-Za-z]+)*\.where\([a-z]+='[^']*'\)(\.[A-Za-z]+)*$/.test(b) ? 'where' : b;
  shapes.set(shape, (shapes.get(shape) ?? 0) + 1); } }
console.log(shapes);
const o = { resourceType: 'Patient', deceasedDateTime: '2015-02-14T13:42:00+10:00' };
for (const e of ['Patient.deceased.as(DateTime)', 'Patient.deceased.as(dateTime)', 'Patient.deceased.as(FHIR.dateTime)', 'Patient.deceased.as(System.DateTime)']) console.log(e, fhirpath.evaluate(o, e, null, model));
const g = { resourceType: 'Goal', startDate: '2015-02-14' };
console.log(fhirpath.evaluate(g, 'Goal.start.as(Date)', null, model), fhirpath.evaluate(g, 'Goal.start.as(date)', null, model));
const ob = { resourceType: 'Observation', valueString: 'x' };
console.log(fhirpath.evaluate(ob, 'Observation.value.as(String)', null, model), fhirpath.evaluate(ob, 'Observation.value.as(string)', null, model));
const c = { resourceType: 'Condition', abatementBoolean: true , onsetAge: {value: 3}};
console.log(fhirpath.evaluate(c, 'Condition.abatement.as(boolean)', null, model), fhirpath.evaluate(c, 'Condition.onset.as(Quantity)', null, model), fhirpath.evaluate(c, 'Condition.onset.as(Age)', null, model));
