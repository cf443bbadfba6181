import { describe, expect, it } from 'vitest';
import { httpDate } from '../../../src-server/rest/interactions';

describe('httpDate', () => {
  it('formats stored instants exactly as Date.prototype.toUTCString does, leap days and centuries included', () => {
    const instants = ['2000-02-29T23:59:59.999Z', '1900-03-01T00:00:00.000Z', '2026-11-26T06:08:09.303Z', '2024-01-01T12:00:00.000Z', '2100-12-31T01:02:03.000Z'];
    for (let day = 0; day < 3000; day++) instants.push(new Date(Date.UTC(1999, 0, 1) + day * 86_400_017).toISOString());
    for (const instant of instants) expect(httpDate(instant), instant).toBe(new Date(instant).toUTCString());
  });
});
