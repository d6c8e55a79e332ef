import { describe, expect, it } from 'vitest';
import { unreadableSummary, type SetAside } from './unreadable';

const rec = (kind: string, key: string, copy = `/home/a/.config/ferry/quarantine/${kind}-${key}.json`): SetAside => ({
  kind,
  key,
  reason: 'unexpected end of JSON input',
  copy,
  time: '2026-11-30T01:00:00Z',
});

describe('unreadable', () => {
  it('says nothing when nothing was set aside', () => {
    expect(unreadableSummary([])).toBe('');
  });
  it('counts by kind and names the quarantine directory', () => {
    expect(unreadableSummary([rec('job', 'a')])).toBe(
      '1 job could not be read when the engine started and was set aside; copies are in /home/a/.config/ferry/quarantine. Everything else works.',
    );
    expect(unreadableSummary([rec('job', 'a'), rec('job', 'b'), rec('setting', 'timeSlice')])).toMatch(/^2 jobs, 1 setting could not be read .* were set aside/);
  });
  it('names the jobs whose credentials cannot be opened, and how to get them back', () => {
    const locked: SetAside = {
      kind: 'credentials',
      key: 'j1',
      reason: 'the secret key /h/secret.key is missing; restore the file and restart the engine, or run `ferry secrets reset` and set them again',
      copy: '',
      time: '2026-11-30T01:00:00Z',
    };
    expect(unreadableSummary([locked])).toBe(
      '1 job holds credentials that cannot be opened: the secret key /h/secret.key is missing; restore the file and restart the engine, or run `ferry secrets reset` and set them again.',
    );
    const both = unreadableSummary([rec('job', 'a'), locked, { ...locked, key: 'j2' }]);
    expect(both).toMatch(/^1 job could not be read .* Everything else works\. 2 jobs hold credentials that cannot be opened: /);
    expect(both).not.toContain('quarantine table');
  });
  it('handles Windows paths and a missing copy', () => {
    expect(unreadableSummary([rec('job', 'a', 'C:\\Users\\a\\ferry\\quarantine\\job-a.json')])).toContain('copies are in C:\\Users\\a\\ferry\\quarantine.');
    expect(unreadableSummary([rec('job', 'a', '')])).toContain("the database's quarantine table");
  });
});
