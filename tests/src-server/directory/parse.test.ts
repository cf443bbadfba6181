import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importDirectoryFile } from '../../../src-server/directory/import';
import { detectLayout } from '../../../src-server/directory/layouts';
import { encodingOf } from '../../../src-server/directory/line-reader';
import { cleanField, parseLine, splitFields } from '../../../src-server/directory/parse';
import { activityLine, DOCTOR, HEADER_48, HEADER_52, line, openStore, tempDirs, writeExtraction } from './helpers';
import { ACTIVITY_COLUMNS_48, type ActivityRecord, type Layout } from '../../../src-server/directory/layouts';

const dir = tempDirs();

describe('extraction lines', () => {
  it('splits on | and drops the empty field the trailing | makes', () => {
    const layout = detectLayout(splitFields(HEADER_52)) as Layout<ActivityRecord>;
    expect(layout).toMatchObject({ kind: 'activity', width: 52, hasHeader: true });
    const parsed = parseLine(layout, activityLine(DOCTOR));
    expect(parsed.ok && parsed.record).toMatchObject({ ppId: '10001045367', familyName: 'MARTIN', sectorCode: 'SA07', roleCode: '' });
    // Without the trailing | the line is as good.
    expect(parseLine(layout, activityLine(DOCTOR).slice(0, -1)).ok).toBe(true);
  });

  it('reads quoted fields (with | and doubled quotes inside) and keeps a stray quote as a character', () => {
    expect(splitFields('a|"CABINET ""LES TILLEULS"" | ÉTAGE 2"|c|')).toEqual(['a', 'CABINET "LES TILLEULS" | ÉTAGE 2', 'c', '']);
    expect(splitFields('a|CABINET "LES TILLEULS"|"unclosed|d')).toEqual(['a', 'CABINET "LES TILLEULS"', '"unclosed', 'd']);
  });

  it('cleans odd characters: control characters go, odd spaces become spaces, ends are trimmed', () => {
    expect(cleanField('\u00a0MARTIN\u0000\tDUPONT\u200b ')).toBe('MARTIN DUPONT');
    expect(cleanField("D'ALMEIDA–NÚÑEZ")).toBe("D'ALMEIDA–NÚÑEZ");
  });

  it('knows the 48-column layout by its header, and headerless files by their width', () => {
    expect(detectLayout(splitFields(HEADER_48))).toMatchObject({ kind: 'activity', width: 48, hasHeader: true });
    const headerless = detectLayout(splitFields(line(ACTIVITY_COLUMNS_48, DOCTOR)));
    expect(headerless).toMatchObject({ kind: 'activity', width: 48, hasHeader: false });
    expect(detectLayout(['a', 'b', 'c'])).toBeUndefined();
  });

  it('tells UTF-8 from Windows-1252 by the bytes', () => {
    expect(encodingOf(Buffer.from('HÉLÈNE|', 'utf8'))).toBe('utf-8');
    expect(encodingOf(Buffer.from('HÉLÈNE|', 'latin1'))).toBe('windows-1252');
    expect(encodingOf(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toBe('utf-8');
  });
});

describe('importing extraction files', () => {
  it('imports both layouts and both encodings to the same resources', async () => {
    const folder = dir();
    const utf8 = writeExtraction(folder, 'PS_LibreAcces_Personne_activite_202501010000.txt', [HEADER_52, activityLine(DOCTOR)]);
    const latin = writeExtraction(folder, 'old.txt', [HEADER_48, line(ACTIVITY_COLUMNS_48, DOCTOR)], 'latin1');
    const first = openStore(dir());
    const second = openStore(dir());
    const a = await importDirectoryFile(first.db, first.repository, utf8);
    const b = await importDirectoryFile(second.db, second.repository, latin);
    expect([a.encoding, a.columns, b.encoding, b.columns]).toEqual(['utf-8', 52, 'windows-1252', 48]);
    const name = (store: typeof first) => JSON.parse(store.repository.read('Practitioner', 'pp-810001045367')!.json).name;
    expect(name(first)).toEqual([{ use: 'official', family: 'MARTIN', given: ['HÉLÈNE'], prefix: ['Dr'] }]);
    expect(name(second)).toEqual(name(first));
    first.db.close();
    second.db.close();
  });

  it('decodes Windows-1252 characters Latin-1 lacks (œ, ’)', async () => {
    const folder = dir();
    const text = `${HEADER_52}\r\n${activityLine({ ...DOCTOR, familyName: 'C~UR', siteName: 'CABINET L^ÉTOILE' })}\r\n`;
    // Buffer's latin1 cannot write œ and ’: their Windows-1252 bytes (0x9C, 0x92) go in by hand.
    const bytes = Buffer.from(text, 'latin1').map((byte) => (byte === 0x7e ? 0x9c : byte === 0x5e ? 0x92 : byte));
    const path = `${folder}/cp1252.txt`;
    writeFileSync(path, bytes);
    const store = openStore(dir());
    await importDirectoryFile(store.db, store.repository, path);
    expect(JSON.parse(store.repository.read('Organization', 'st-C49940088500020')!.json).name).toBe('CABINET L’ÉTOILE');
    expect(JSON.parse(store.repository.read('Practitioner', 'pp-810001045367')!.json).name[0].family).toBe('CœUR');
    store.db.close();
  });

  it('reports malformed lines with their line numbers, skips them, and imports the rest', async () => {
    const folder = dir();
    const path = writeExtraction(folder, 'bad.txt', [
      HEADER_52,
      activityLine(DOCTOR),
      'garbage|line|',
      '',
      activityLine({ ...DOCTOR, ppId: '', idnps: '' }),
      activityLine({ ...DOCTOR, ppId: '10000000002', idnps: '810000000002', familyName: 'DUPONT' }),
      activityLine({ ...DOCTOR, ppId: '10000000003', idnps: '8 1000/00003' }),
    ]);
    const store = openStore(dir());
    const report = await importDirectoryFile(store.db, store.repository, path);
    expect(report.lines).toEqual({ read: 5, accepted: 2, rejected: 3 });
    expect(report.rejections.map((rejection) => rejection.line)).toEqual([3, 5, 7]);
    expect(report.rejections[0].reason).toContain('expected 52 fields');
    expect(store.repository.exists('Practitioner', 'pp-810000000002')).toBe(true);
    expect(report.resources.Practitioner.created).toBe(2);
    store.db.close();
  });

  it('refuses a file that is no extraction, writing nothing', async () => {
    const folder = dir();
    const path = writeExtraction(folder, 'other.txt', ['name;age', 'x;1']);
    const store = openStore(dir());
    await expect(importDirectoryFile(store.db, store.repository, path)).rejects.toThrow(/neither/);
    expect(store.repository.counts()).toEqual({});
    store.db.close();
  });
});
