/**
 * Test helper: XML read with the node's own FHIR XML library (the `fhir` package, FHIR.js, and its XML parser xml-js),
 * for the FHIRPath test suite (its test file and FHIR XML inputs) and the IHE metadata the node writes.
 */
import { createRequire } from 'node:module';
import { readFhirXmlLeniently } from '../../src-server/http/fhir-xml';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text and CDATA, entities decoded. */
  text: string;
}

interface XmlJsNode {
  type: string;
  name?: string;
  attributes?: Record<string, string>;
  elements?: XmlJsNode[];
  text?: string;
  cdata?: string;
}

const xmlJs = createRequire(createRequire(import.meta.url).resolve('fhir'))('xml-js') as {
  xml2js(xml: string, options: Record<string, boolean>): { elements?: XmlJsNode[] };
};

/** Parses a document into its root element (comments, declarations and processing instructions skipped). */
export function parseXml(source: string): XmlElement {
  const root = xmlJs.xml2js(source, { ignoreComment: true, ignoreInstruction: true, ignoreDeclaration: true }).elements?.find((node) => node.type === 'element');
  if (!root) throw new Error('XML: no root element');
  return element(root);
}

function element(node: XmlJsNode): XmlElement {
  const nodes = node.elements ?? [];
  return {
    name: node.name!,
    attributes: node.attributes ?? {},
    children: nodes.filter((child) => child.type === 'element').map(element),
    text: nodes.map((child) => child.text ?? child.cdata ?? '').join(''),
  };
}

/**
 * A FHIR XML resource document as its JSON. The FHIRPath suite's inputs predate STU3 in places
 * (Observation.encounter, Questionnaire concept): those elements are dropped, as FHIR.js does.
 */
export function fhirXmlToJson(source: string): Record<string, unknown> {
  return readFhirXmlLeniently(source);
}
