import type { SearchParameters } from '../fhir/search/parameters';
import type { MappedResource } from './activity-preparer';
import type { ImportedType } from './ids';
import type { Resource } from './person-resources';
import type { ImportBatch } from './import-batch';

/**
 * The storing thread's side of the activity import: the resources the import thread mapped (activity-preparer.ts) are written
 * chunk by chunk, and what this import did not see is archived at the end.
 */

const ARCHIVE_BATCH = 2000;

export class ActivitySink {
  constructor(
    private readonly batch: ImportBatch,
    /** The definitions the import thread extracted search values under: those in force when it started. */
    private readonly definitions: SearchParameters,
  ) {}

  /** Writes a chunk's resources (in short transactions: ImportBatch.flush). */
  async write(mapped: readonly MappedResource[]): Promise<void> {
    for (const item of mapped) this.batch.putMapped(item, this.definitions);
    await this.batch.flush();
  }

  /** Sets `active: false` on the resources the file no longer has (the import thread lists them). Never deletes. */
  async archive(unseen: Record<ImportedType, string[]>): Promise<void> {
    for (const resourceType of ['PractitionerRole', 'Practitioner', 'Organization'] as const) {
      for (const id of unseen[resourceType]) {
        this.batch.put(resourceType, id, archived, 'archived');
        if (this.batch.queued >= ARCHIVE_BATCH) await this.batch.flush();
      }
    }
    await this.batch.flush();
  }
}

function archived(current: string | undefined): Resource | undefined {
  if (!current) return undefined;
  const resource = storedResource(current);
  return resource.active === false ? undefined : { ...resource, active: false };
}

/** A stored version as the resource an import writes: its meta is the repository's. */
export function storedResource(json: string): Resource {
  const { meta: _meta, ...resource } = JSON.parse(json) as Resource;
  return resource;
}
