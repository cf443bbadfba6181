/**
 * What one input may cost the node (DESIGN §2: every input is bounded; docs/architecture.md, "Input limits"). The
 * validator holds every write to the resource limits, whatever way it came (REST, import, sync); the HTTP layer
 * holds request bodies to the body limit. The CapabilityStatement declares them all.
 */

/** A string element's value, in bytes of UTF-8: what it costs to store and index, whatever its characters. */
export const MAX_STRING_BYTES = 1024 * 1024;

/**
 * JSON values of one resource: every object (the resource itself included) and every string, number or boolean;
 * arrays themselves and nulls are not counted. A million given names is a million and three.
 */
export const MAX_ELEMENTS = 100_000;

/**
 * Binary content of this size or more is refused (413 on upload). Inline binary data (base64Binary values:
 * Binary.content, Attachment.data…) is bounded by it, decoded, rather than by MAX_STRING_BYTES.
 */
export const MAX_BINARY_BYTES = 50 * 1024 * 1024;

/**
 * A JSON request body (a resource, a Bundle, an operation's Parameters), but a Binary's, which streams into the
 * binary store. 32 MiB holds any resource within the limits above in practice, and a transaction Bundle with some
 * 24 MiB of document inline (base64 takes 4/3 of the bytes). A document up to the Binary limit goes by
 * `POST /fhir/Binary` instead, streamed: as base64 in a Bundle it would be a 67 MiB body, parsed whole in memory and
 * kept inline in an SQLite row, which is what the binary store is there to avoid.
 */
export const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;
