import { describe, expect, it } from 'vitest';
import {
  RateMeter,
  filesLabel,
  formatBytes,
  formatRate,
  progressFraction,
  etaSeconds,
  formatDuration,
  percent,
  progressLabel,
  stateLabel,
  errorHeading,
} from './jobs';

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

describe('stateLabel', () => {
  it('names every state for people', () => {
    expect(stateLabel('TRANSIENT_ERROR')).toBe('Retrying');
    expect(stateLabel('TRANSFERRING')).toBe('Transferring');
  });
});

describe('errorHeading', () => {
  it('says a cost-blocked job is paused on a metered network', () => {
    expect(errorHeading('TRANSIENT_ERROR', 'BG_E_BLOCKED_BY_COST_TRANSFER_POLICY')).toMatch(/^Paused: metered network/);
    expect(errorHeading('TRANSIENT_ERROR', 'BG_E_CONNECT_FAILURE')).toBe('The transfer will be retried');
    expect(errorHeading('ERROR', 'BG_E_HTTP_ERROR_404')).toBe('The transfer failed');
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

describe('ETA', () => {
  const p = { bytesTotal: 1000, bytesTransferred: 400, filesTotal: 1, filesTransferred: 0 };
  it('divides what is left by the rate', () => expect(etaSeconds(p, 100)).toBe(6));
  it('is unknown without a rate or a total', () => {
    expect(etaSeconds(p, null)).toBeNull();
    expect(etaSeconds(p, 0)).toBeNull();
    expect(etaSeconds({ ...p, bytesTotal: -1 }, 100)).toBeNull();
  });
  it.each([
    [42, '42 s'],
    [185, '3 min 5 s'],
    [7300, '2 h 1 min'],
    [200000, '2 d 7 h'],
  ])('formats %d s as %s', (s, want) => expect(formatDuration(s)).toBe(want));
  it('is blank when unknown', () => expect(formatDuration(null)).toBe(''));
  it('shows whole percents', () => {
    expect(percent(p)).toBe('40%');
    expect(percent({ ...p, bytesTotal: -1 })).toBe('');
  });
});
