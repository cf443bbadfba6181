import type { NodeModule } from '../rest/extensions';
import { lifenMapping } from './mapping';

/** Lifen's codes, identifiers and extensions mapped onto the node's (mapping.ts): requests on every surface, answers on Lifen's. */
export function lifenMappingModule(): NodeModule {
  return { mapping: lifenMapping };
}
