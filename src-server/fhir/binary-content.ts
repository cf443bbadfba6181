import { badRequest } from './outcome';

/**
 * How a Binary whose content lives in the binary store is written in FHIR JSON: its `content` is replaced by the
 * primitive's extension `_content` naming the file (valid FHIR: a primitive may carry only extensions). Reading the
 * Binary itself serves the content again, raw or base64; searches and histories show the extension.
 */

export const BINARY_CONTENT_URL = 'http://liaison.health/fhir/StructureDefinition/binary-content';

type JsonObject = Record<string, unknown>;

export interface ContentRef {
  hash: string;
  size: number;
}

/** The stored form of a Binary whose content the store holds. */
export function withStoredContent(resource: JsonObject, content: ContentRef): JsonObject {
  const { content: _content, _content: _extension, ...rest } = resource;
  return { ...rest, _content: { extension: [{ url: BINARY_CONTENT_URL, valueString: `sha256:${content.hash}:${content.size}` }] } };
}

/** The file a stored Binary points at, if it does. */
export function storedContentOf(resource: JsonObject): ContentRef | undefined {
  const extensions = (resource._content as { extension?: Array<{ url?: string; valueString?: string }> } | undefined)?.extension;
  const value = extensions?.find((extension) => extension.url === BINARY_CONTENT_URL)?.valueString;
  const match = value ? /^sha256:([0-9a-f]{64}):(\d+)$/.exec(value) : null;
  return match ? { hash: match[1], size: Number(match[2]) } : undefined;
}

/** Only the node names files: a client sending the extension could point at another document's content. */
export function refuseForgedContent(resource: JsonObject): void {
  const extensions = (resource._content as { extension?: Array<{ url?: string }> } | undefined)?.extension;
  if (Array.isArray(extensions) && extensions.some((extension) => extension?.url === BINARY_CONTENT_URL)) {
    throw badRequest('node-only-extension', `The extension ${BINARY_CONTENT_URL} is set by this node only`, 'Binary.content');
  }
}
