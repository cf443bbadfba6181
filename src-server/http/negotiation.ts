import type { FastifyRequest } from 'fastify';
import { FHIR_FORMATS, mediaTypesOf, type FhirFormat } from '../fhir/formats';
import { notAcceptable } from '../fhir/outcome';

/**
 * Which of the FHIR formats (fhir/formats.ts) an answer is written in: `_format` when given (it overrides `Accept`,
 * FHIR RESTful API §2.1.0.6), else the best of `Accept` by its q-values (RFC 9110 §12.5.1: the most specific range
 * that names a type gives its quality). Nothing the node can write: 406. Absent both: the first format.
 */
export function negotiateFormat(request: FastifyRequest): FhirFormat {
  const format = (request.query as Record<string, unknown>)._format;
  if (typeof format === 'string') {
    const asked = mediaTypeOf(format);
    const found = FHIR_FORMATS.find((candidate) => candidate.code === asked || mediaTypesOf(candidate).includes(asked));
    if (!found) throw notAcceptable('format-not-acceptable', `_format '${format}' cannot be served: this node writes ${served()}`);
    return found;
  }
  const accept = request.headers.accept;
  if (accept === undefined || accept === '' || accept === '*/*') return FHIR_FORMATS[0];
  // Most clients name one media type: no parsing for them (this runs on every request).
  const named = BY_MEDIA_TYPE.get(accept);
  if (named) return named;
  // A browser (text/html first, application/xml;q=0.9, */*;q=0.8) is someone looking at the API, not an XML client:
  // the default format, as servers with no HTML view answer it.
  if (accept.includes('text/html') && accept.includes('*/*')) return FHIR_FORMATS[0];
  const ranges = acceptRanges(accept);
  let best: FhirFormat | undefined;
  let bestQuality = 0;
  for (const candidate of FHIR_FORMATS) {
    const quality = Math.max(...mediaTypesOf(candidate).map((type) => qualityOf(type, ranges)));
    if (quality > bestQuality) [best, bestQuality] = [candidate, quality];
  }
  if (!best) throw notAcceptable('format-not-acceptable', `Accept '${accept}' names nothing this node can write: ask for ${served()}`);
  return best;
}

const BY_MEDIA_TYPE: ReadonlyMap<string, FhirFormat> = new Map(FHIR_FORMATS.flatMap((format) => mediaTypesOf(format).map((type) => [type, format] as const)));

interface AcceptRange {
  type: string;
  quality: number;
}

function acceptRanges(accept: string): AcceptRange[] {
  return accept.split(',').map((part) => {
    const [type, ...parameters] = part.split(';');
    const q = parameters.map((parameter) => parameter.trim()).find((parameter) => parameter.toLowerCase().startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    return { type: type.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0 };
  });
}

/** The quality `Accept` gives a media type: that of its own range, else of `type/*`, else of `*\/*`; none: 0. */
function qualityOf(mediaType: string, ranges: readonly AcceptRange[]): number {
  const wildcard = `${mediaType.slice(0, mediaType.indexOf('/'))}/*`;
  for (const type of [mediaType, wildcard, '*/*']) {
    const matching = ranges.filter((range) => range.type === type);
    if (matching.length) return Math.max(...matching.map((range) => range.quality));
  }
  return 0;
}

function mediaTypeOf(value: string): string {
  return value.split(';')[0].trim().toLowerCase();
}

function served(): string {
  return FHIR_FORMATS.map((format) => format.mediaType).join(' or ');
}
