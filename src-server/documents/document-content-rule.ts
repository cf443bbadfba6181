import type { WriteContext, WriteRule } from '../rest/extensions';
import { isValidId } from '../store/repository';
import { grantingReferencesRule } from './granting-references';
import { arrayOf, isJson } from './references';

/**
 * A DocumentReference may only name as its content a Binary its writer can already read, or the writer's own upload
 * that no DocumentReference names yet: the first step of the Lifen sequence, where a new Binary is seen by nobody,
 * its writer included, until a DocumentReference names it. The access rules show a Binary to whoever sees a
 * DocumentReference whose content it is (`attachment-url`, the only reference that opens a Binary), so without this
 * anyone who learnt another practice's Binary id could read and replace it through a document about their own
 * patient (granting-references.ts). The uploader is the caller that created the Binary (`resource_owners`, recorded
 * by the interactions for the types whose creator counts), or the sync peer's client that pushed it here.
 */
export function documentContentRule(): WriteRule {
  return grantingReferencesRule({
    types: ['DocumentReference'],
    target: 'Binary',
    expression: () => 'DocumentReference.content.attachment.url',
    targetsOf: contentBinaries,
    claimable: (id, context) => {
      const { caller } = context.request;
      return caller !== undefined && context.interactions.repository.owners.creatorOf('Binary', id) === caller.key && !isContentOfAny(id, context);
    },
  });
}

/**
 * A content url that opens a Binary of this node: the access rules compare the url as written (the index keeps uris
 * untouched) with `Binary/<id>` and `<base>/Binary/<id>`, the base being the reader's, on any name of the node (see
 * openedBy in granting-references.ts).
 */
const CONTENT_URL = /^(?:.*\/fhir\/)?Binary\/([^/]+)$/;

/** Ids of the Binaries of this node a DocumentReference's content names. */
function contentBinaries(document: unknown): string[] {
  const ids: string[] = [];
  for (const content of arrayOf(isJson(document) ? document.content : undefined)) {
    const attachment = isJson(content) ? content.attachment : undefined;
    const url = isJson(attachment) && typeof attachment.url === 'string' ? attachment.url : undefined;
    const id = url === undefined ? undefined : CONTENT_URL.exec(url)?.[1];
    if (id !== undefined && isValidId(id)) ids.push(id);
  }
  return ids;
}

/** Whether a current DocumentReference names the Binary as its content, as the access rules read it from `base`. */
function isContentOfAny(id: string, { base, interactions }: WriteContext): boolean {
  return interactions.searchEngine.hasUri('DocumentReference', 'attachment-url', [`Binary/${id}`, `${base}/Binary/${id}`]);
}
