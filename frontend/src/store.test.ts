import { describe, expect, it } from 'vitest';
import { allowed, comparator, JobStore, matches, toggleAction } from './store';
import { job } from './testing';
import type { JobPriority } from './types';

const at = (t: string) => ({ creationTime: t, modificationTime: null, transferCompletionTime: null });

describe('JobStore', () => {
  it('orders by priority, then creation, then id (the engine’s order)', () => {
    const s = new JobStore();
    const mk = (id: string, priority: JobPriority, t: string) => job(id, { priority, times: at(t) });
    s.reset([
      mk('low', 'LOW', '2026-01-01T00:00:00Z'),
      mk('n2', 'NORMAL', '2026-01-02T00:00:00Z'),
      mk('n1b', 'NORMAL', '2026-01-01T00:00:00Z'),
      mk('n1a', 'NORMAL', '2026-01-01T00:00:00Z'),
      mk('fg', 'FOREGROUND', '2026-01-03T00:00:00Z'),
      mk('hi', 'HIGH', '2026-01-03T00:00:00Z'),
    ]);
    expect(s.view).toEqual(['fg', 'hi', 'n1a', 'n1b', 'n2', 'low']);
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
    expect(s.view).toEqual(['b', 'c']);
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
    expect(s.selectedJobs().map((j) => j.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    s.clearSelection();
    expect(s.move(null, 1)).toBe('a');
    expect(s.move(null, -1)).toBe('e');
    expect(s.move('e', 1)).toBe('e');
    expect(s.move('c', -1)).toBe('b');
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
  it('falls back to the default order on ties', () => {
    const a = job('a', { state: 'ERROR', priority: 'LOW' });
    const b = job('b', { state: 'ERROR', priority: 'HIGH' });
    expect(comparator({ key: 'state', desc: false })(a, b)).toBeGreaterThan(0);
  });
  it('matches with an empty search', () => expect(matches(job('x'), 'ALL', '  ')).toBe(true));
});

describe('actions', () => {
  it('Space resumes an all-suspended selection, else suspends', () => {
    expect(toggleAction([job('a', { state: 'SUSPENDED' }), job('b', { state: 'ERROR' })])).toBe('resume');
    expect(toggleAction([job('a', { state: 'SUSPENDED' }), job('b', { state: 'TRANSFERRING' })])).toBe('suspend');
    expect(toggleAction([])).toBeNull();
  });
  it('knows which methods make sense', () => {
    expect(allowed('complete', 'TRANSFERRED')).toBe(true);
    expect(allowed('complete', 'TRANSFERRING')).toBe(false);
    expect(allowed('resume', 'ERROR')).toBe(true);
    expect(allowed('suspend', 'SUSPENDED')).toBe(false);
    expect(allowed('cancel', 'CANCELLED')).toBe(false);
  });
});
