/** A custom SearchParameter on a directory type (an RPPS number), as a practice adds one: indexed and searched like the official ones. */
export const RPPS_PARAMETER = {
  resourceType: 'SearchParameter',
  url: 'http://cabinet.example/fhir/SearchParameter/rpps',
  name: 'rpps',
  status: 'active',
  description: 'RPPS number',
  code: 'rpps',
  base: ['Practitioner'],
  type: 'token',
  expression: "Practitioner.identifier.where(system='https://rpps.esante.gouv.fr')",
};
