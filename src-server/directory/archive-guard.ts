/**
 * An import treats its file as the whole directory: what the store has and the file lacks is archived (activity
 * file), or loses its mailboxes (MSSanté file). A partial or truncated file would so archive most of the directory (a
 * one-line file archived 1,457 practitioners). Unless the admin confirmed the file is the whole directory, an import
 * that would archive more than ARCHIVE_SHARE_LIMIT of the active entries of a type (and more than ARCHIVE_FLOOR of
 * them) stops before writing anything. The daily publication archives a fraction of a percent.
 */

/** guarded: stop past the limit; confirmed: the admin said the file is the whole directory; never: an update only. */
export type ArchiveMode = 'guarded' | 'confirmed' | 'never';

export const ARCHIVE_MODES: readonly ArchiveMode[] = ['guarded', 'confirmed', 'never'];

/** 5 %: the ANS publication archives some 0.1 % a day (people who stop practising), a truncated file far more. */
export const ARCHIVE_SHARE_LIMIT = 0.05;
/** Small directories (a test's, the demo's) may lose a few entries whatever their share. */
export const ARCHIVE_FLOOR = 10;

/** Per type: how many active entries the import would archive, of how many active ones. */
export type ArchiveCounts = Record<string, { archiving: number; active: number }>;

export class ArchiveRefusedError extends Error {
  constructor(
    readonly file: string,
    readonly counts: ArchiveCounts,
  ) {
    const said = Object.entries(counts)
      .filter(([, count]) => overLimit(count))
      .map(([type, { archiving, active }]) => `${archiving} of ${active} ${type}`)
      .join(', ');
    super(
      `${file} would archive ${said} (more than ${ARCHIVE_SHARE_LIMIT * 100} %): it looks partial, and nothing was written. ` +
        'Import it as the whole directory (--replace, or confirm it in Réglages) or as an update only (--no-archive).',
    );
    this.name = 'ArchiveRefusedError';
  }

  /** The most the import would archive of one type: what the admin is asked to confirm. */
  get largest(): { type: string; archiving: number; active: number } {
    const [type, count] = Object.entries(this.counts).sort(([, a], [, b]) => b.archiving - a.archiving)[0];
    return { type, ...count };
  }
}

const overLimit = ({ archiving, active }: { archiving: number; active: number }) => archiving > ARCHIVE_FLOOR && archiving > active * ARCHIVE_SHARE_LIMIT;

/** Throws ArchiveRefusedError when a guarded import would archive too much of a type. */
export function checkArchiving(mode: ArchiveMode, file: string, counts: ArchiveCounts): void {
  if (mode === 'guarded' && Object.values(counts).some(overLimit)) throw new ArchiveRefusedError(file, counts);
}

/** A refused import as the admin API and /health say it: its code, and the largest count it would archive. */
export interface ArchiveRefusal {
  code: 'directory-archive-unconfirmed';
  type: string;
  archiving: number;
  active: number;
}

export const archiveRefusal = (error: ArchiveRefusedError): ArchiveRefusal => ({ code: 'directory-archive-unconfirmed', ...error.largest });
