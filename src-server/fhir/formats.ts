/**
 * The formats the FHIR API reads and writes. The CapabilityStatement declares them (rest/capability.ts) and HTTP
 * negotiates with them (http/negotiation.ts): a format is added here, by one entry, and both follow.
 */
export interface FhirFormat {
  /** The short name `_format` and the CapabilityStatement use: `json`. */
  code: string;
  /** Its media type, the one answers carry. */
  mediaType: string;
  /** Other media types that mean the same (older FHIR spellings, the generic type). */
  aliases: readonly string[];
}

export const FHIR_FORMATS: readonly FhirFormat[] = [
  { code: 'json', mediaType: 'application/fhir+json', aliases: ['application/json+fhir', 'application/json'] },
  // Read and written at the HTTP edge (http/fhir-xml.ts): the node stores and reasons in JSON.
  { code: 'xml', mediaType: 'application/fhir+xml', aliases: ['application/xml+fhir', 'application/xml', 'text/xml'] },
];

/** Every media type of a format, its own first. */
export function mediaTypesOf(format: FhirFormat): string[] {
  return [format.mediaType, ...format.aliases];
}
