import { refuseForgedContent, withStoredContent, type ContentRef } from '../fhir/binary-content';
import { badRequest } from '../fhir/outcome';
import { assertValid } from '../fhir/validation/validate';
import type { FhirRequest } from './types';

/**
 * A Binary uploaded as a stream (`POST /fhir/Binary`, `PUT /fhir/Binary/<id>`: the document itself, or FHIR JSON with
 * base64 content), checked where HTTP streams it: its scope before a byte is stored, the resource before its content
 * joins the binary store, so that a refused upload costs no 50 MiB and leaves no file. Versioning is then the
 * interactions' as for any resource (FhirRequest.binaryContent).
 */

/** The scope of the upload, before its body is read: a client without it is not made to upload 50 MiB for a 403. */
export function checkBinaryUpload(request: FhirRequest): void {
  request.scopes.require('Binary', request.method === 'POST' ? 'CREATE' : 'UPDATE');
}

/** The Binary the upload carries, as the store will take it with its content (`content`, once streamed in full). */
export function checkUploadedBinary(resource: Record<string, unknown>, content: ContentRef | undefined): void {
  if (resource.resourceType !== 'Binary') throw badRequest('binary-expected', `The resource is a ${String(resource.resourceType)}, but it was sent to the Binary endpoint`, 'resourceType');
  refuseForgedContent(resource);
  assertValid(content ? withStoredContent(resource, content) : resource);
}
