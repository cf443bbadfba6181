import { customParameters } from '../fhir/search/parameters';
import type { Db } from '../storage/database';
import { preparedJson } from '../storage/prepared-write';
import { keyOf, type MappedResource } from './activity-mapper';
import { ID_PREFIXES } from './ids';
import type { Resource } from './map-activity';
import type { DirectoryWriter } from './writer';

/**
 * The writer's side of the activity import: the resources the import thread mapped (activity-mapper.ts) are written
 * chunk by chunk, and what this import did not see is archived at the end.
 */

const ARCHIVE_BATCH = 2000;

export class ActivitySink {
  private readonly seen = { Practitioner: new Set<string>(), PractitionerRole: new Set<string>(), Organization: new Set<string>() };
  /** The custom parameters the import thread extracted search values under. */
  private readonly definitions = customParameters();

  constructor(
    private readonly db: Db,
    private readonly writer: DirectoryWriter,
  ) {}

  /** Writes a chunk's resources in one transaction. */
  write(mapped: readonly MappedResource[]): void {
    // A SearchParameter written meanwhile changes the index rows: the repository then makes them itself.
    const preparedHolds = customParameters() === this.definitions;
    for (const item of mapped) {
      const { resourceType, id } = keyOf(item);
      this.seen[resourceType as keyof ActivitySink['seen']].add(id);
      this.writer.putMapped('prepared' in item && !preparedHolds ? { unprepared: JSON.parse(preparedJson(item.prepared)) as Resource } : item);
    }
    this.writer.flush();
  }

  /** Archives what the file no longer has. */
  finish(): void {
    for (const resourceType of ['PractitionerRole', 'Practitioner', 'Organization'] as const) this.archiveUnseen(resourceType);
  }

  /** Sets `active: false` on the resources of this import's kind that the file no longer has. Never deletes. */
  private archiveUnseen(resourceType: keyof ActivitySink['seen']): void {
    const prefix = ID_PREFIXES[resourceType];
    const ids = this.db
      .prepare<[string, string, string], string>('SELECT resource_id FROM resources WHERE resource_type = ? AND resource_id >= ? AND resource_id < ?')
      .pluck()
      .all(resourceType, prefix, `${prefix}\uffff`);
    const seen = this.seen[resourceType];
    for (const id of ids) {
      if (seen.has(id)) continue;
      this.writer.put(resourceType, id, archived, 'archived');
      if (this.writer.queued >= ARCHIVE_BATCH) this.writer.flush();
    }
    this.writer.flush();
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
