import { describe, expect, it } from 'vitest';
import { JobStore } from './store';
import { runMany, Sync } from './sync';
import { job } from './testing';
import { OpError, type Handlers, type Transport } from './transport';
import type { JobInfo } from './types';

function fakeTransport(list: () => Promise<JobInfo[]>) {
  let h: Handlers | null = null;
  const calls: [string, string[]][] = [];
  const t: Transport = {
    kind: 'http',
    async call<T>(op: string, args: string[] = []) {
      calls.push([op, args]);
      if (op === 'list') return (await list()) as T;
      if (args[0] === 'bad') throw new OpError({ code: '0x80200002', name: 'BG_E_INVALID_STATE', message: 'no' });
      return null as T;
    },
    meta: async () => ({ version: '', downloadDir: '', ops: [], settings: [], limits: {}, notifyFlags: [], units: {} }),
    subscribe(handlers) {
      h = handlers;
      return { close: () => (h = null) };
    },
    onNotice() {},
    onOpenJob() {},
    onFileDrop() {},
  };
  return { t, calls, h: () => h! };
}

describe('Sync', () => {
  it('lists once the stream is ready, then applies changes that came meanwhile', async () => {
    let release!: (l: JobInfo[]) => void;
    const { t, h } = fakeTransport(() => new Promise((r) => (release = r)));
    const store = new JobStore();
    const flushes: (() => void)[] = [];
    const statuses: string[] = [];
    const sync = new Sync(t, store, { schedule: (cb) => flushes.push(cb), onStatus: (s) => statuses.push(s) });
    sync.start();
    h().ready();
    // While the list is in flight, a change arrives: it must win over the list.
    h().job(job('a', { state: 'TRANSFERRING' }));
    h().job(job('new'));
    release([job('a', { state: 'QUEUED' }), job('b')]);
    await new Promise((r) => setTimeout(r));
    expect(store.get('a')!.state).toBe('TRANSFERRING');
    expect([...store.view].sort()).toEqual(['a', 'b', 'new']);
    expect(statuses).toEqual(['connecting', 'live']);
    // Later changes are batched into one flush per frame.
    h().job(job('b', { state: 'SUSPENDED' }));
    h().job(job('b', { state: 'QUEUED' }));
    h().job(job('new', { state: 'CANCELLED' }));
    expect(flushes).toHaveLength(1);
    const v = store.version;
    flushes[0]();
    expect(store.version).toBe(v + 1);
    expect(store.get('b')!.state).toBe('QUEUED');
    expect(store.get('new')).toBeUndefined();
    h().lost!();
    expect(statuses[statuses.length - 1]).toBe('lost');
  });

  it('reports a failed list and keeps the pushed changes', async () => {
    const { t, h } = fakeTransport(async () => {
      throw new OpError({ code: '0x80004005', name: 'E_FAIL', message: 'no engine' });
    });
    const store = new JobStore();
    let err: OpError | null = null;
    const sync = new Sync(t, store, { schedule: (cb) => cb(), onError: (e) => (err = e) });
    sync.start();
    h().ready();
    h().job(job('x'));
    await new Promise((r) => setTimeout(r));
    expect(err!.message).toBe('no engine');
    expect(store.view).toEqual(['x']);
    // A stream refused for good (no token) is shown too.
    h().lost!(new OpError({ code: '0x80070005', name: 'E_ACCESSDENIED', message: 'open the printed address' }));
    expect(err!.name).toBe('E_ACCESSDENIED');
  });

  it('measures rates from pushed progress', () => {
    let now = 0;
    const { t, h } = fakeTransport(async () => []);
    const sync = new Sync(t, new JobStore(), { schedule: () => {}, now: () => now });
    sync.start();
    const p = (n: number) => ({ bytesTotal: 1000, bytesTransferred: n, filesTotal: 1, filesTransferred: 0 });
    h().job(job('a', { progress: p(0) }));
    now = 1000;
    h().job(job('a', { progress: p(500) }));
    expect(sync.meter.rate('a', 1000)).toBe(500);
  });
});

describe('runMany', () => {
  it('calls the op for every id and collects failures', async () => {
    const { t, calls } = fakeTransport(async () => []);
    const ids = Array.from({ length: 20 }, (_, i) => `j${i}`).concat('bad');
    const r = await runMany(t, 'suspend', ids, 4);
    expect(r.ok).toBe(20);
    expect(r.failed.map((f) => [f.id, f.error.name])).toEqual([['bad', 'BG_E_INVALID_STATE']]);
    expect(calls.filter(([op]) => op === 'suspend')).toHaveLength(21);
  });
});
