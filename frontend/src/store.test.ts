import { describe, expect, it } from 'vitest';
import { allowed, comparator, JobStore, matches, toggleAction } from './store';
import verbsMeta from './testdata/verbs.json';
import { job } from './testing';
import type { JobInfo, JobPriority, Meta } from './types';

const at = (t: string) => ({ creationTime: t, modificationTime: null, transferCompletionTime: null });

describe('JobStore', () => {
  it('orders newest first by default, whatever the priority', () => {
    const s = new JobStore();
    const mk = (id: string, priority: JobPriority, t: string) => job(id, { priority, times: at(t) });
    s.reset([
      mk('low', 'LOW', '2026-01-01T00:00:00Z'),
      mk('n2', 'NORMAL', '2026-01-02T00:00:00Z'),
      mk('fg', 'FOREGROUND', '2026-01-03T00:00:00Z'),
      mk('hi', 'HIGH', '2026-01-03T00:00:01Z'),
    ]);
    expect(s.view).toEqual(['hi', 'fg', 'n2', 'low']);
  });

  it('compares the engine’s nanosecond times as times, not strings', () => {
    const s = new JobStore();
    // Go's RFC3339Nano trims trailing zeros: as strings ".1Z" > ".12Z".
    s.reset([
      job('t100', { times: at('2026-01-01T00:00:05.1Z') }),
      job('t120', { times: at('2026-01-01T00:00:05.12Z') }),
      job('t123456789', { times: at('2026-01-01T00:00:05.123456789Z') }),
      job('t123456', { times: at('2026-01-01T00:00:05.123456Z') }),
      job('t0', { times: at('2026-01-01T00:00:05Z') }),
      job('offset', { times: at('2026-01-01T01:00:04.9+01:00') }), // 00:00:04.9Z
    ]);
    expect(s.view).toEqual(['t123456789', 't123456', 't120', 't100', 't0', 'offset']);
  });

  it('puts 1,000 jobs made in a loop newest first (q999 … q0)', () => {
    const s = new JobStore();
    const base = Date.parse('2026-11-30T01:00:00Z');
    // As the engine sends them: its list in creation order, some within
    // one clock tick (the same time), nanoseconds trimmed as Go does.
    const list = Array.from({ length: 1000 }, (_, i) => {
      const ns = Math.floor(i / 3) * 123_457; // three jobs a tick
      const t = new Date(base + Math.floor(ns / 1e6)).toISOString().replace(/\.\d+Z$/, '');
      const frac = String(ns % 1e9).padStart(9, '0').replace(/0+$/, '');
      return job(`id-${(i * 7919) % 1000}`, { displayName: `q${i}`, times: at(`${t}${frac ? '.' + frac : ''}Z`) });
    });
    s.reset(list);
    const names = s.view.map((id) => s.get(id)!.displayName);
    expect(names.slice(0, 4)).toEqual(['q999', 'q998', 'q997', 'q996']);
    expect(names).toEqual(list.map((j) => j.displayName).reverse());
    // A job made later arrives pushed and goes on top, even in the same tick.
    s.apply([job('new', { displayName: 'q1000', times: list[999].times })]);
    expect(s.get(s.view[0])!.displayName).toBe('q1000');
  });

  it('goes back to the default order on a third click of a column', () => {
    const s = new JobStore();
    s.reset([job('old', { displayName: 'b', times: at('2026-01-01T00:00:00Z') }), job('new', { displayName: 'a', times: at('2026-01-02T00:00:00Z') }), job('mid', { displayName: 'c', times: at('2026-01-01T12:00:00Z') })]);
    expect(s.view).toEqual(['new', 'mid', 'old']);
    s.toggleSort('name');
    expect(s.view).toEqual(['new', 'old', 'mid']);
    s.toggleSort('name');
    expect(s.view).toEqual(['mid', 'old', 'new']);
    s.toggleSort('name');
    expect(s.sort.key).toBe('default');
    expect(s.view).toEqual(['new', 'mid', 'old']);
  });

  it('applies a change in place without recomputing the view', () => {
    const s = new JobStore();
    s.reset([job('a'), job('b')]);
    const view = s.view;
    const moved = s.apply([job('a', { state: 'TRANSFERRING', progress: { bytesTotal: 100, bytesTransferred: 50, filesTotal: 1, filesTransferred: 0 } })]);
    expect(moved).toBe(false);
    expect(s.view).toBe(view); // same array: rows stay where they are
    expect(s.get('a')!.progress.bytesTransferred).toBe(50);
    expect(s.count('TRANSFERRING')).toBe(1);
    expect(s.count('QUEUED')).toBe(1);
  });

  it('adds new jobs, drops final ones and their selection', () => {
    const s = new JobStore();
    s.reset([job('a'), job('b')]);
    s.select('a');
    expect(s.apply([job('c'), job('a', { state: 'CANCELLED' }), job('zz', { state: 'ACKNOWLEDGED' })])).toBe(true);
    expect(s.view).toEqual(['c', 'b']); // the pushed new job on top
    expect(s.selected.size).toBe(0);
    expect(s.count('ALL')).toBe(2);
    expect(s.count('QUEUED')).toBe(2);
  });

  it('reset ignores final jobs', () => {
    const s = new JobStore();
    s.reset([job('a', { state: 'CANCELLED' }), job('b')]);
    expect(s.view).toEqual(['b']);
  });

  it('filters by state and searches name, description and id', () => {
    const s = new JobStore();
    s.reset([
      job('aaaa-1', { displayName: 'Nightly ISO', state: 'TRANSFERRING' }),
      job('bbbb-2', { displayName: 'photos', description: 'the holiday album', state: 'SUSPENDED' }),
      job('cccc-3', { displayName: 'logs', state: 'ERROR' }),
    ]);
    s.setFilter('SUSPENDED');
    expect(s.view).toEqual(['bbbb-2']);
    s.setFilter('ALL', 'HOLIDAY');
    expect(s.view).toEqual(['bbbb-2']);
    s.setFilter('ALL', 'nightly');
    expect(s.view).toEqual(['aaaa-1']);
    s.setFilter('ALL', 'cccc');
    expect(s.view).toEqual(['cccc-3']);
    // A job that changes state leaves a state filter at once.
    s.setFilter('ERROR', '');
    expect(s.apply([job('cccc-3', { displayName: 'logs', state: 'QUEUED' })])).toBe(true);
    expect(s.view).toEqual([]);
  });

  it('sorts by a column and reverses on a second click', () => {
    const s = new JobStore();
    s.reset([job('a', { displayName: 'zeta' }), job('b', { displayName: 'Alpha' }), job('c', { displayName: 'file10' }), job('d', { displayName: 'file9' })]);
    s.toggleSort('name');
    expect(s.view).toEqual(['b', 'd', 'c', 'a']); // numeric-aware, any case
    s.toggleSort('name');
    expect(s.view).toEqual(['a', 'c', 'd', 'b']);
    // Under a name sort a rename moves the row.
    expect(s.apply([job('a', { displayName: 'aaa' })])).toBe(true);
    expect(s.view[s.view.length - 1]).toBe('a');
  });

  it('sorts by progress', () => {
    const p = (n: number, total = 100) => ({ bytesTotal: total, bytesTransferred: n, filesTotal: 1, filesTransferred: 0 });
    const s = new JobStore();
    s.reset([job('half', { progress: p(50) }), job('none', { progress: p(0) }), job('unknown', { progress: p(0, -1) }), job('done', { progress: p(100) })]);
    s.setSort({ key: 'progress', desc: true });
    expect(s.view).toEqual(['done', 'half', 'none', 'unknown']);
  });

  it('selects: only, toggle, range, all; moves the cursor', () => {
    const s = new JobStore();
    s.reset(['a', 'b', 'c', 'd', 'e'].map((id) => job(id, { times: at(`2026-01-0${id.charCodeAt(0) - 96}T00:00:00Z`) })));
    s.select('b');
    s.select('d', 'range');
    expect([...s.selected].sort()).toEqual(['b', 'c', 'd']);
    s.select('a', 'toggle');
    expect(s.selected.has('a')).toBe(true);
    s.select('a', 'toggle');
    expect(s.selected.has('a')).toBe(false);
    s.selectAll();
    expect(s.selected.size).toBe(5);
    expect(s.selectedJobs().map((j) => j.id)).toEqual(['e', 'd', 'c', 'b', 'a']); // newest first
    s.clearSelection();
    expect(s.move(null, 1)).toBe('e');
    expect(s.move(null, -1)).toBe('a');
    expect(s.move('a', 1)).toBe('a');
    expect(s.move('c', -1)).toBe('d');
  });

  it('notifies subscribers and counts versions', () => {
    const s = new JobStore();
    let n = 0;
    const off = s.subscribe(() => n++);
    s.reset([job('a')]);
    s.apply([job('a', { state: 'SUSPENDED' })]);
    off();
    s.apply([job('b')]);
    expect(n).toBe(2);
    expect(s.version).toBe(3);
  });

  it('handles 10,000 jobs and a burst of their changes quickly', () => {
    const s = new JobStore();
    const list = Array.from({ length: 10000 }, (_, i) => job(`job-${String(i).padStart(5, '0')}`, { times: at('2026-01-01T00:00:00Z') }));
    let t = performance.now();
    s.reset(list);
    expect(s.view).toHaveLength(10000);
    const resetMs = performance.now() - t;
    // Progress of every job, in place: no reorder.
    const burst = list.map((j) => ({ ...j, state: 'TRANSFERRING' as const, progress: { ...j.progress, bytesTransferred: 5 } }));
    t = performance.now();
    expect(s.apply(burst)).toBe(false);
    const applyMs = performance.now() - t;
    expect(s.count('TRANSFERRING')).toBe(10000);
    expect(resetMs).toBeLessThan(500);
    expect(applyMs).toBeLessThan(200);
  });
});

describe('comparator and matches', () => {
  it('falls back to the default order (newest first) on ties, either way', () => {
    const a = job('a', { state: 'ERROR', times: at('2026-01-01T00:00:00Z') });
    const b = job('b', { state: 'ERROR', times: at('2026-01-02T00:00:00Z') });
    expect(comparator({ key: 'state', desc: false })(a, b)).toBeGreaterThan(0);
    expect(comparator({ key: 'state', desc: true })(a, b)).toBeGreaterThan(0);
  });
  it('matches with an empty search', () => expect(matches(job('x'), 'ALL', '  ')).toBe(true));
});

describe('actions', () => {
  it('Space resumes an all-suspended selection, else suspends', () => {
    expect(toggleAction([job('a', { state: 'SUSPENDED' }), job('b', { state: 'ERROR' })])).toBe('resume');
    expect(toggleAction([job('a', { state: 'SUSPENDED' }), job('b', { state: 'TRANSFERRING' })])).toBe('suspend');
    expect(toggleAction([])).toBeNull();
  });
  it('offers what the engine declares (the verbs of /v1/meta)', () => {
    const meta = verbsMeta as unknown as Pick<Meta, 'ops'>;
    const dl = (state: JobInfo['state'], type: JobInfo['type'] = 'DOWNLOAD') => job('a', { state, type });
    expect(allowed(meta, 'complete', dl('TRANSFERRED'))).toBe(true);
    // A download may be completed in any state that is not final (BITS drops what has not arrived); an upload only once TRANSFERRED.
    expect(allowed(meta, 'complete', dl('TRANSFERRING'))).toBe(true);
    expect(allowed(meta, 'complete', dl('TRANSFERRING', 'UPLOAD'))).toBe(false);
    expect(allowed(meta, 'resume', dl('ERROR'))).toBe(true);
    expect(allowed(meta, 'suspend', dl('SUSPENDED'))).toBe(false);
    expect(allowed(meta, 'cancel', dl('CANCELLED'))).toBe(false);
    expect(allowed(meta, 'resume', job('a', { state: 'SUSPENDED', progress: { ...dl('SUSPENDED').progress, filesTotal: 0 } }))).toBe(false);
    // Nothing is offered before the description has arrived.
    expect(allowed(null, 'cancel', dl('QUEUED'))).toBe(false);
  });
  it('follows a changed declaration', () => {
    const meta = structuredClone(verbsMeta) as unknown as Pick<Meta, 'ops'>;
    const complete = meta.ops.find((o) => o.name === 'complete')!.verb!;
    complete.acts.DOWNLOAD = ['TRANSFERRED'];
    expect(allowed(meta, 'complete', job('a', { state: 'TRANSFERRING' }))).toBe(false);
    expect(allowed(meta, 'complete', job('a', { state: 'TRANSFERRED' }))).toBe(true);
  });
});
