import type { Readable } from 'node:stream';
import parser from 'stream-json/parser.js';
import { badRequest, payloadTooLarge } from '../fhir/outcome';
import type { BinaryStore, IncomingContent } from '../store/binary-store';

/**
 * A FHIR JSON Binary read from a request stream with the stream-json tokenizer: its `content` (base64) is decoded
 * into the binary store as it arrives, so memory stays flat however large the document; its other members are small
 * and assembled as usual (within MAX_MEMBERS_CHARS).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = { kind: 'object'; value: Record<string, Json>; key?: string } | { kind: 'array'; value: Json[] };

/** Everything but `content`: id, meta, contentType, securityContext. */
const MAX_MEMBERS_CHARS = 1024 * 1024;

/**
 * The Binary and its content, completed but not yet in the store: the caller checks the resource first, then
 * stores the content (`incoming.store()`) or drops it (`incoming.abort()`), so a refused upload leaves no file.
 */
export async function readJsonBinary(body: Readable, store: BinaryStore): Promise<{ resource: Record<string, unknown>; content?: IncomingContent }> {
  const tokens = body.pipe(parser.asStream({ packKeys: true, streamKeys: false, packStrings: false, streamStrings: true, packNumbers: true, streamNumbers: false }));
  // The body's own errors (the client went away, an inflated body past its limit) are not JSON errors.
  let bodyError: Error | undefined;
  body.on('error', (error) => tokens.destroy((bodyError = error)));
  const stack: Container[] = [];
  let root: Json | undefined;
  let text: string | undefined;
  let budget = MAX_MEMBERS_CHARS;
  let decoder: Base64ToStore | undefined;
  let content: IncomingContent | undefined;

  const place = (value: Json) => {
    const top = stack[stack.length - 1];
    if (!top) root = value;
    else if (top.kind === 'array') top.value.push(value);
    else top.value[top.key as string] = value;
  };
  const spend = (chars: number) => {
    budget -= chars;
    if (budget < 0) throw payloadTooLarge('binary-members-too-large', `A Binary's members other than content are limited to ${MAX_MEMBERS_CHARS} characters`);
  };
  const isContent = () => stack.length === 1 && stack[0].kind === 'object' && stack[0].key === 'content';

  try {
    for await (const token of tokens as AsyncIterable<parser.Token>) {
      switch (token.name) {
        case 'startObject':
        case 'startArray': {
          const container: Container = token.name === 'startObject' ? { kind: 'object', value: {} } : { kind: 'array', value: [] };
          place(container.value);
          stack.push(container);
          break;
        }
        case 'endObject':
        case 'endArray':
          stack.pop();
          break;
        case 'keyValue':
          spend(token.value.length);
          (stack[stack.length - 1] as Extract<Container, { kind: 'object' }>).key = token.value;
          break;
        case 'startString':
          if (isContent()) decoder = new Base64ToStore(await store.incoming());
          else text = '';
          break;
        case 'stringChunk':
          if (decoder) await decoder.push(token.value);
          else {
            spend(token.value.length);
            text += token.value;
          }
          break;
        case 'endString':
          if (decoder) {
            await content?.abort(); // a second `content` member replaces the first
            content = await decoder.finish();
            decoder = undefined;
          } else place(text as string);
          text = undefined;
          break;
        case 'numberValue':
          spend(token.value.length);
          place(Number(token.value));
          break;
        case 'nullValue':
        case 'trueValue':
        case 'falseValue':
          place(token.value);
          break;
      }
    }
  } catch (error) {
    await decoder?.abort();
    await content?.abort();
    if (error instanceof Error && error !== bodyError && !('status' in error)) throw badRequest('json-invalid', `The request body is not valid JSON: ${error.message}`);
    throw error;
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    await content?.abort();
    throw badRequest('binary-expected', 'The body must be a Binary resource (a JSON object)');
  }
  return { resource: root, content };
}

/** Base64 text, in chunks of any length, decoded into the binary store's incoming content. */
class Base64ToStore {
  private pending = '';
  private padded = false;

  constructor(private readonly incoming: IncomingContent) {}

  async push(chunk: string): Promise<void> {
    const clean = chunk.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/=]*$/.test(clean)) throw badRequest('base64-invalid', 'Binary.content is not base64', 'Binary.content');
    if (this.padded && clean !== '') throw badRequest('base64-invalid', 'Binary.content has data after its base64 padding', 'Binary.content');
    const text = this.pending + clean;
    const whole = text.length - (text.length % 4);
    const quads = text.slice(0, whole);
    this.pending = text.slice(whole);
    const padding = quads.indexOf('=');
    if (padding >= 0) {
      if (padding < quads.length - 2 || !/^=*$/.test(quads.slice(padding)) || this.pending !== '') throw badRequest('base64-invalid', 'Binary.content has misplaced base64 padding', 'Binary.content');
      this.padded = true;
    }
    if (quads) await this.incoming.push(Buffer.from(quads, 'base64'));
  }

  async finish(): Promise<IncomingContent> {
    if (this.pending !== '') throw badRequest('base64-invalid', 'Binary.content is not base64 (its length is not a multiple of 4)', 'Binary.content');
    await this.incoming.complete();
    return this.incoming;
  }

  abort(): Promise<void> {
    return this.incoming.abort();
  }
}
