import type { DocumentsModule } from '../documents/module';
import type { NodeModule } from '../rest/extensions';
import { searchForMssOperations } from './operations/search-for-mss';
import { sendToEhrOperation } from './operations/send-to-ehr';
import { sendToMssOperation } from './operations/send-to-mss';
import { trackingOperation } from './operations/tracking';

/**
 * Lifen's v3 operations (docs/lifen-compatibility.md, "v3 operations"), each mapped onto the node's own flows:
 * `$send-to-mss` and `$send-to-ehr` onto the Document API's sequence and its MSSanté and DPI channels, `$tracking` onto
 * the Communications of a send, `$search-for-mss` onto the directory. Served at `/fhir/<Type>/<op>` like any operation.
 */
export function lifenOperationsModule(documents: Pick<DocumentsModule, 'configured' | 'dpiOrganizations' | 'recipientsOf'>): NodeModule {
  return { operations: [sendToMssOperation(documents), sendToEhrOperation(documents), trackingOperation(documents), ...searchForMssOperations()] };
}
