import { describe, expect, it, vi } from 'vitest';
import { asOpError, httpTransport, OpError, pickTransport, wailsTransport, type EventSourceLike, type WailsApp } from './transport';
import { job } from './testing';
import type { JobInfo } from './types';

/** rejection resolves to what p rejected with (and fails if it resolved). */
async function rejection(p: Promise<unknown>): Promise<OpError> {
  try {
    await p;
  } catch (e) {
    return e as OpError;
  }
  throw new Error('resolved');
}

function fakeWails() {
  const handlers = new Map<string, (...d: unknown[]) => void>();
  const calls: [string, string[], Record<string, string>][] = [];
  const app: WailsApp = {
    Call: async (op, args, flags) => {
      calls.push([op, args, flags]);
      if (op === 'info') throw { code: '0x80200001', name: 'BG_E_NOT_FOUND', message: 'no such job' };
      return op === 'list' ? [job('a')] : null;
    },
    Meta: async () => ({ version: 'v', downloadDir: '/d', ops: [], settings: [], limits: {}, notifyFlags: [], units: {} }),
    Notices: async () => [{ id: 'no-tray', text: 'no tray' }],
    PickDirectory: async () => '/picked',
    PickFile: async () => '/picked/f',
  };
  const runtime = {
    EventsOn: (name: string, cb: (...d: unknown[]) => void) => {
      handlers.set(name, cb);
      return () => handlers.delete(name);
    },
    OnFileDrop: (cb: (x: number, y: number, paths: string[]) => void) => handlers.set('drop', (p) => cb(0, 0, p as string[])),
  };
  return { w: { go: { main: { App: app } }, runtime }, handlers, calls };
}

describe('pickTransport', () => {
  it('picks Wails inside the window', () => {
    expect(pickTransport(fakeWails().w).kind).toBe('wails');
  });
  it('picks HTTP in a browser', () => {
    const t = pickTransport({ fetch: vi.fn() as unknown as typeof fetch, EventSource: class {} as never });
    expect(t.kind).toBe('http');
    expect(t.pickDirectory).toBeUndefined(); // a plain path field in the browser
  });
  it('fails without either', () => {
    expect(() => pickTransport({})).toThrow(/fetch/);
  });
});

describe('wailsTransport', () => {
  it('is null outside Wails', () => {
    expect(wailsTransport({})).toBeNull();
  });

  it('calls main.App.Call with the op, args and flags', async () => {
    const { w, calls } = fakeWails();
    const t = wailsTransport(w)!;
    expect(await t.call<JobInfo[]>('list')).toHaveLength(1);
    await t.call('create', ['x'], { upload: 'true' });
    expect(calls).toEqual([
      ['list', [], {}],
      ['create', ['x'], { upload: 'true' }],
    ]);
  });

  it('turns the engine error object into an OpError', async () => {
    const t = wailsTransport(fakeWails().w)!;
    const err = await rejection(t.call('info', ['x']));
    expect(err).toBeInstanceOf(OpError);
    expect([err.name, err.code, err.message]).toEqual(['BG_E_NOT_FOUND', '0x80200001', 'no such job']);
  });

  it('pushes job events and is ready at once', async () => {
    const { w, handlers } = fakeWails();
    const t = wailsTransport(w)!;
    const got: string[] = [];
    let ready = 0;
    const sub = t.subscribe({ job: (j) => got.push(j.id), ready: () => ready++ });
    handlers.get('job')!(job('a'));
    await Promise.resolve();
    expect(got).toEqual(['a']);
    expect(ready).toBe(1);
    // The window fell behind and resubscribed: the UI lists again.
    handlers.get('resync')!();
    expect(ready).toBe(2);
    sub.close();
    expect(handlers.has('job')).toBe(false);
    expect(handlers.has('resync')).toBe(false);
  });

  it('relays notices (now and later), open-job and file drops', async () => {
    const { w, handlers } = fakeWails();
    const t = wailsTransport(w)!;
    const notices: string[] = [];
    t.onNotice((n) => notices.push(n.id));
    await new Promise((r) => setTimeout(r));
    handlers.get('notice')!({ id: 'later', text: '' });
    expect(notices).toEqual(['no-tray', 'later']);
    let opened = '';
    t.onOpenJob((id) => (opened = id));
    handlers.get('open-job')!('j1');
    expect(opened).toBe('j1');
    let dropped: string[] = [];
    t.onFileDrop((p) => (dropped = p));
    handlers.get('drop')!(['/a', '/b']);
    expect(dropped).toEqual(['/a', '/b']);
    handlers.get('drop')!(['']); // a dropped link, not a file
    expect(dropped).toEqual([]);
    expect(await t.pickDirectory!('x')).toBe('/picked');
  });
});

class FakeES implements EventSourceLike {
  static all: FakeES[] = [];
  readyState = 0;
  onerror: ((ev: unknown) => void) | null = null;
  listeners = new Map<string, (ev: MessageEvent) => void>();
  closed = false;
  constructor(readonly url: string) {
    FakeES.all.push(this);
  }
  addEventListener(type: string, cb: (ev: MessageEvent) => void) {
    this.listeners.set(type, cb);
  }
  close() {
    this.closed = true;
  }
  emit(type: string, data: unknown) {
    this.listeners.get(type)?.({ data: JSON.stringify(data) } as MessageEvent);
  }
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('httpTransport', () => {
  it('posts calls to /v1/call and unwraps the result', async () => {
    const fetch = vi.fn(async () => jsonResponse(200, { result: { id: 'x' } }));
    const t = httpTransport({ fetch: fetch as unknown as typeof globalThis.fetch, EventSource: FakeES, setTimeout });
    expect(await t.call('create', ['n'], { download: 'true' })).toEqual({ id: 'x' });
    const [url, init] = (fetch.mock.calls[0] as unknown as [string, RequestInit]);
    expect(url).toBe('/v1/call');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(JSON.parse(init.body as string)).toEqual({ op: 'create', args: ['n'], flags: { download: 'true' } });
    expect(init.credentials).toBe('same-origin');
  });

  it('a call with no result resolves to null', async () => {
    const t = httpTransport({ fetch: (async () => jsonResponse(200, {})) as unknown as typeof fetch, EventSource: FakeES, setTimeout });
    expect(await t.call('resume', ['x'])).toBeNull();
  });

  it('rejects with the engine error', async () => {
    const fetch = async () => jsonResponse(404, { error: { code: '0x80200001', name: 'BG_E_NOT_FOUND', message: 'gone' } });
    const t = httpTransport({ fetch: fetch as unknown as typeof globalThis.fetch, EventSource: FakeES, setTimeout });
    const err = await rejection(t.call('info', ['x']));
    expect(err).toBeInstanceOf(OpError);
    expect(err.name).toBe('BG_E_NOT_FOUND');
  });

  it('rejects readably when the token is missing or the server is gone', async () => {
    const t401 = httpTransport({
      fetch: (async () => jsonResponse(401, { error: { code: '0x80070005', name: 'E_ACCESSDENIED', message: 'token' } })) as unknown as typeof fetch,
      EventSource: FakeES,
      setTimeout,
    });
    expect((await rejection(t401.call('list'))).name).toBe('E_ACCESSDENIED');
    const down = httpTransport({
      fetch: (async () => {
        throw new TypeError('Failed to fetch');
      }) as unknown as typeof fetch,
      EventSource: FakeES,
      setTimeout,
    });
    const err = await rejection(down.call('list'));
    expect(err.name).toBe('E_FAIL');
    expect(err.message).toMatch(/cannot be reached/);
  });

  it('streams events and reconnects a refused stream', () => {
    FakeES.all = [];
    const timers: (() => void)[] = [];
    const t = httpTransport({ fetch: vi.fn() as unknown as typeof fetch, EventSource: FakeES, setTimeout: (cb) => timers.push(cb) });
    const jobs: string[] = [];
    let ready = 0;
    let lost = 0;
    const sub = t.subscribe({ job: (j) => jobs.push(j.id), ready: () => ready++, lost: () => lost++ });
    const es = FakeES.all[0];
    expect(es.url).toBe('/v1/events');
    es.emit('ready', {});
    es.emit('job', job('a'));
    expect([ready, jobs]).toEqual([1, ['a']]);
    // The engine dropped the stream for falling behind: lost, and the
    // browser's reconnect brings a new "ready" (the list again).
    es.emit('overflow', {});
    expect(lost).toBe(1);
    es.emit('ready', {});
    expect(ready).toBe(2);
    lost = 0;
    // A dropped stream: the browser retries by itself.
    es.readyState = 0;
    es.onerror!({});
    expect([lost, timers.length]).toEqual([1, 0]);
    // A refused one (503): closed for good, so the transport retries.
    es.readyState = 2;
    es.onerror!({});
    expect(timers.length).toBe(1);
    timers[0]();
    expect(FakeES.all).toHaveLength(2);
    sub.close();
    expect(FakeES.all[1].closed).toBe(true);
  });
});

describe('asOpError', () => {
  it('keeps OpErrors, reads error objects and wraps the rest', () => {
    const e = new OpError({ code: '1', name: 'N', message: 'm' });
    expect(asOpError(e)).toBe(e);
    expect(asOpError({ code: '0x1', name: 'X', message: 'y' }).name).toBe('X');
    expect(asOpError('boom').message).toBe('boom');
    expect(asOpError(new Error('bad')).name).toBe('E_FAIL');
  });
});
