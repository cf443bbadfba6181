/**
 * Test helper: a small XML parser and a FHIR STU3 XML → JSON converter driven by the structure model (which
 * elements repeat, which are primitives and of what JSON type, where resources nest). Enough for the official
 * FHIRPath test inputs and examples; not a validating FHIR XML parser.
 */
import {
  getStructure,
  primitiveDefinitions,
  primitiveExtensionStructure,
  resourceStructure,
  type ElementInfo,
  type Structure,
} from '../../src-server/fhir/validation/model';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
  /** Offsets of the element in the source, for copying XHTML verbatim. */
  start: number;
  end: number;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });
}

/** Parses a document into its root element (comments, declarations and processing instructions skipped). */
export function parseXml(source: string): XmlElement {
  let position = 0;
  const fail = (message: string): never => {
    throw new Error(`XML: ${message} at offset ${position}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (position < source.length && /\s|\uFEFF/.test(source[position])) position++;
      if (source.startsWith('<!--', position)) position = source.indexOf('-->', position) + 3 || fail('unclosed comment');
      else if (source.startsWith('<?', position)) position = source.indexOf('?>', position) + 2 || fail('unclosed declaration');
      else return;
    }
  };
  const element = (): XmlElement => {
    const start = position;
    const open = /^<([A-Za-z_][\w.:-]*)/.exec(source.slice(position, position + 200)) ?? fail('expected an element');
    position += open[0].length;
    const node: XmlElement = { name: open[1], attributes: {}, children: [], text: '', start, end: start };
    const attribute = /^\s+([\w.:-]+)\s*=\s*("([^"]*)"|'([^']*)')/;
    for (;;) {
      const match = attribute.exec(source.slice(position, position + 100_000));
      if (!match) break;
      node.attributes[match[1]] = decodeEntities(match[3] ?? match[4]);
      position += match[0].length;
    }
    while (/\s/.test(source[position])) position++;
    if (source.startsWith('/>', position)) {
      position += 2;
      node.end = position;
      return node;
    }
    if (source[position] !== '>') fail(`malformed tag <${node.name}`);
    position++;
    for (;;) {
      const next = source.indexOf('<', position);
      if (next < 0) fail(`unclosed <${node.name}>`);
      node.text += decodeEntities(source.slice(position, next));
      position = next;
      if (source.startsWith('<!--', position)) {
        position = source.indexOf('-->', position) + 3 || fail('unclosed comment');
      } else if (source.startsWith('<![CDATA[', position)) {
        const close = source.indexOf(']]>', position);
        if (close < 0) fail('unclosed CDATA');
        node.text += source.slice(position + 9, close);
        position = close + 3;
      } else if (source.startsWith('</', position)) {
        const close = source.indexOf('>', position);
        if (source.slice(position + 2, close).trim() !== node.name) fail(`mismatched </${node.name}>`);
        position = close + 1;
        node.end = position;
        return node;
      } else {
        node.children.push(element());
      }
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (position < source.length) fail('content after the root element');
  return root;
}

type Json = Record<string, unknown>;

export interface ConversionOptions {
  /**
   * Elements the STU3 model does not define are converted by shape (a `value` attribute makes a string, repeats
   * make an array) and their paths recorded here; without this option they are an error.
   */
  unknownElements?: string[];
}

/** Converts a FHIR XML resource document to its JSON form. */
export function fhirXmlToJson(source: string, options: ConversionOptions = {}): Json {
  return resourceFromXml(parseXml(source), source, options);
}

function resourceFromXml(element: XmlElement, source: string, options: ConversionOptions): Json {
  const structure = resourceStructure(element.name);
  if (!structure) throw new Error(`FHIR XML: unknown resource type ${element.name}`);
  const json: Json = { resourceType: element.name };
  fillElement(element, structure, json, source, options);
  return json;
}

function fillElement(element: XmlElement, structure: Structure, json: Json, source: string, options: ConversionOptions): void {
  // In XML the id of an element and the url of an extension are attributes.
  if (!structure.isResource && element.attributes.id !== undefined) json.id = element.attributes.id;
  if (element.attributes.url !== undefined) json.url = element.attributes.url;
  for (const child of element.children) {
    const info = structure.properties.get(child.name);
    if (!info || info.name !== child.name) {
      if (!options.unknownElements) throw new Error(`FHIR XML: unknown element ${structure.name}.${child.name}`);
      options.unknownElements.push(`${structure.name}.${child.name}`);
      const previous = json[child.name];
      const value = byShape(child);
      json[child.name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
      continue;
    }
    if (info.kind === 'primitive') {
      if (info.type === 'xhtml') {
        json[info.name] = source.slice(child.start, child.end);
        continue;
      }
      const raw = child.attributes.value;
      const extensions = primitiveExtras(child, source, options);
      append(json, info, raw === undefined ? null : primitiveValue(raw, info.type), extensions);
    } else if (info.kind === 'resource') {
      const [inner] = child.children;
      if (!inner) throw new Error(`FHIR XML: empty resource element ${structure.name}.${child.name}`);
      append(json, info, resourceFromXml(inner, source, options), null);
    } else {
      const value: Json = {};
      fillElement(child, info.structure ?? getStructure(info.type) ?? fail(info), value, source, options);
      append(json, info, value, null);
    }
  }
  // Primitive arrays carry a parallel `_name` array; drop the parts that turned out all-null.
  for (const key of Object.keys(json)) {
    const value = json[key];
    if (Array.isArray(value) && value.every((entry) => entry === null)) delete json[key];
  }
}

function fail(info: ElementInfo): never {
  throw new Error(`FHIR XML: no structure for ${info.type}`);
}

/** The `_name` object of a primitive: its element id and extensions, or null. */
function primitiveExtras(element: XmlElement, source: string, options: ConversionOptions): Json | null {
  if (element.attributes.id === undefined && element.children.length === 0) return null;
  const extras: Json = {};
  fillElement(element, primitiveExtensionStructure(), extras, source, options);
  return extras;
}

function byShape(element: XmlElement): unknown {
  if (element.children.length === 0 && element.attributes.value !== undefined) return element.attributes.value;
  const json: Json = {};
  for (const child of element.children) {
    const previous = json[child.name];
    const value = byShape(child);
    json[child.name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return json;
}

function primitiveValue(raw: string, type: string): unknown {
  switch (primitiveDefinitions().get(type)?.jsonType) {
    case 'boolean':
      return raw === 'true';
    case 'number':
      return Number(raw);
    default:
      return raw;
  }
}

function append(json: Json, info: ElementInfo, value: unknown, extras: Json | null): void {
  if (!info.isArray) {
    if (value !== null) json[info.name] = value;
    if (extras) json[info.extName] = extras;
    return;
  }
  const values = (json[info.name] ??= []) as unknown[];
  values.push(value);
  if (info.kind === 'primitive') {
    const extraValues = (json[info.extName] ??= []) as unknown[];
    while (extraValues.length < values.length - 1) extraValues.push(null);
    extraValues.push(extras);
  }
}
