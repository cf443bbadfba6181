import type { SearchParameters } from '../fhir/search/parameters';
import { preparedJson } from '../store/prepared-write';
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
  /** The definitions the import thread extracted search values under: those in force when it started. */
  private readonly definitions: SearchParameters;

  constructor(
    private readonly batch: ImportBatch,
    /** The definitions in force in the store now. */
    private readonly inForce: () => SearchParameters,
  ) {
    this.definitions = inForce();
  }

  /** Writes a chunk's resources in one transaction. */
  write(mapped: readonly MappedResource[]): void {
    // A SearchParameter written meanwhile changes the index rows: the repository then makes them itself.
    const preparedHolds = this.inForce() === this.definitions;
    for (const item of mapped) {
      this.batch.putMapped('prepared' in item && !preparedHolds ? { unprepared: JSON.parse(preparedJson(item.prepared)) as Resource } : item);
    }
    this.batch.flush();
  }

  /** Sets `active: false` on the resources the file no longer has (the import thread lists them). Never deletes. */
  archive(unseen: Record<ImportedType, string[]>): void {
    for (const resourceType of ['PractitionerRole', 'Practitioner', 'Organization'] as const) {
      for (const id of unseen[resourceType]) {
        this.batch.put(resourceType, id, archived, 'archived');
        if (this.batch.queued >= ARCHIVE_BATCH) this.batch.flush();
      }
    }
    this.batch.flush();
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
