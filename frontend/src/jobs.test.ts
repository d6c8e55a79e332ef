import { describe, expect, it } from 'vitest';
import {
  RateMeter,
  filesLabel,
  formatBytes,
  formatRate,
  mergeJob,
  progressFraction,
  progressLabel,
  sortJobs,
  stateLabel,
} from './jobs';
import type { JobInfo, JobPriority, JobState } from './types';

function job(id: string, over: Partial<JobInfo> = {}): JobInfo {
  return {
    id,
    displayName: id,
    description: '',
    type: 'DOWNLOAD',
    state: 'QUEUED',
    priority: 'NORMAL',
    owner: 'alice',
    progress: { bytesTotal: 100, bytesTransferred: 0, filesTotal: 1, filesTransferred: 0 },
    times: { creationTime: '2026-11-23T10:00:00Z', modificationTime: null, transferCompletionTime: null },
    errorCount: 0,
    error: null,
    minRetryDelay: 600,
    noProgressTimeout: 1209600,
    maxDownloadTime: 7776000,
    notifyFlags: 3,
    notifyCmdLine: null,
    proxy: { usage: 'PRECONFIG', list: '', bypass: '' },
    dynamic: false,
    ...over,
  };
}

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [10 * 1024 * 1024 + 512 * 1024, '10.5 MiB'],
    [500 * 1024 ** 3, '500 GiB'],
    [2 * 1024 ** 6, '2048 PiB'],
  ])('%d → %s', (n, want) => {
    expect(formatBytes(n)).toBe(want);
  });

  it('prints an unknown size (-1) as ?', () => {
    expect(formatBytes(-1)).toBe('?');
    expect(formatBytes(Number.NaN)).toBe('?');
  });
});

describe('formatRate', () => {
  it('adds /s', () => expect(formatRate(2048)).toBe('2.00 KiB/s'));
  it('is empty without a rate', () => {
    expect(formatRate(null)).toBe('');
    expect(formatRate(-5)).toBe('');
  });
});

describe('progress', () => {
  const p = (bytesTotal: number, bytesTransferred: number, filesTotal = 2, filesTransferred = 1) => ({
    bytesTotal,
    bytesTransferred,
    filesTotal,
    filesTransferred,
  });

  it('is a fraction of a known total', () => {
    expect(progressFraction(p(200, 50))).toBe(0.25);
    expect(progressFraction(p(100, 150))).toBe(1);
  });
  it('is indeterminate while the total is unknown', () => {
    expect(progressFraction(p(-1, 50))).toBeNull();
    expect(progressLabel(p(-1, 2048))).toBe('2.00 KiB of ?');
  });
  it('is full for transferred empty files, indeterminate for a job not sized yet', () => {
    expect(progressFraction(p(0, 0, 1, 1))).toBe(1);
    expect(progressFraction(p(0, 0, 0, 0))).toBeNull();
  });
  it('labels bytes and files', () => {
    expect(progressLabel(p(1024, 512))).toBe('512 B of 1.00 KiB');
    expect(filesLabel(p(2, 1))).toBe('1/2');
  });
});

describe('mergeJob', () => {
  const list = [job('a'), job('b')];

  it('replaces a job in place', () => {
    const next = mergeJob(list, job('a', { state: 'TRANSFERRING' }));
    expect(next.map((j) => [j.id, j.state])).toEqual([
      ['a', 'TRANSFERRING'],
      ['b', 'QUEUED'],
    ]);
    expect(list[0].state).toBe('QUEUED'); // the old list is untouched
  });
  it('adds a new job', () => {
    expect(mergeJob(list, job('c')).map((j) => j.id)).toEqual(['a', 'b', 'c']);
  });
  it.each<JobState>(['ACKNOWLEDGED', 'CANCELLED'])('drops a job that became %s', (state) => {
    expect(mergeJob(list, job('a', { state })).map((j) => j.id)).toEqual(['b']);
    expect(mergeJob(list, job('z', { state })).map((j) => j.id)).toEqual(['a', 'b']);
  });
});

describe('sortJobs', () => {
  it('orders by priority, then creation, then id', () => {
    const at = (t: string) => ({ creationTime: t, modificationTime: null, transferCompletionTime: null });
    const mk = (id: string, priority: JobPriority, t: string) => job(id, { priority, times: at(t) });
    const jobs = [
      mk('low', 'LOW', '2026-01-01T00:00:00Z'),
      mk('n2', 'NORMAL', '2026-01-02T00:00:00Z'),
      mk('n1b', 'NORMAL', '2026-01-01T00:00:00Z'),
      mk('n1a', 'NORMAL', '2026-01-01T00:00:00Z'),
      mk('fg', 'FOREGROUND', '2026-01-03T00:00:00Z'),
      mk('hi', 'HIGH', '2026-01-03T00:00:00Z'),
    ];
    expect(sortJobs(jobs).map((j) => j.id)).toEqual(['fg', 'hi', 'n1a', 'n1b', 'n2', 'low']);
    expect(jobs[0].id).toBe('low'); // sorted copy, input untouched
  });
});

describe('stateLabel', () => {
  it('names every state for people', () => {
    expect(stateLabel('TRANSIENT_ERROR')).toBe('Retrying');
    expect(stateLabel('TRANSFERRING')).toBe('Transferring');
  });
});

describe('RateMeter', () => {
  it('needs two samples', () => {
    const m = new RateMeter();
    m.update('a', 0, 0);
    expect(m.rate('a', 0)).toBeNull();
    m.update('a', 1000, 1000);
    expect(m.rate('a', 1000)).toBe(1000);
  });
  it('smooths', () => {
    const m = new RateMeter(3000, 0.5);
    m.update('a', 0, 0);
    m.update('a', 1000, 1000); // 1000 B/s
    m.update('a', 4000, 2000); // 3000 B/s now → 2000 smoothed
    expect(m.rate('a', 2000)).toBe(2000);
  });
  it('reads null once stalled', () => {
    const m = new RateMeter(3000);
    m.update('a', 0, 0);
    m.update('a', 1000, 1000);
    expect(m.rate('a', 4000)).toBe(1000);
    expect(m.rate('a', 4001)).toBeNull();
  });
  it('restarts when the count goes down', () => {
    const m = new RateMeter();
    m.update('a', 0, 0);
    m.update('a', 5000, 1000);
    m.update('a', 10, 2000);
    expect(m.rate('a', 2000)).toBeNull();
    m.update('a', 1010, 3000);
    expect(m.rate('a', 3000)).toBe(1000);
  });
  it('keeps jobs apart and forgets', () => {
    const m = new RateMeter();
    m.update('a', 0, 0);
    m.update('b', 0, 0);
    m.update('a', 100, 1000);
    m.update('b', 300, 1000);
    expect([m.rate('a', 1000), m.rate('b', 1000)]).toEqual([100, 300]);
    m.forget('a');
    expect(m.rate('a', 1000)).toBeNull();
  });
});
