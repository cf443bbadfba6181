/**
 * The national directory's resource types. Every authenticated user reads them; only import and sync write them
 * (through the repository), never a client through the API. Their searches page by 100 (DESIGN §2).
 */
export const DIRECTORY_TYPES: ReadonlySet<string> = new Set(['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'HealthcareService']);
