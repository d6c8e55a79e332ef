import { describe, expect, it, vi } from 'vitest';
import { asOpError, httpTransport, OpError, pickTransport, SSEParser, takeToken, wailsTransport, type WailsApp } from './transport';
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
    const t = pickTransport({
      fetch: vi.fn() as unknown as typeof fetch,
      location: { href: 'http://127.0.0.1:1/' },
      history: { replaceState() {} },
    });
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

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** A fake fetch: answers from a func, records every request. */
function fakeFetch(answer: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const calls: { url: string; init: RequestInit }[] = [];
  const f = vi.fn(async (url: string, init: RequestInit = {}) => {
    calls.push({ url, init });
    return answer(url, init);
  });
  return { fetch: f as unknown as typeof fetch, calls };
}

/** An event stream the test writes to, as the server would. */
function sseStream(init: RequestInit) {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
  const enc = new TextEncoder();
  init.signal?.addEventListener('abort', () => {
    try {
      ctl.error(new DOMException('aborted', 'AbortError'));
    } catch {
      // already closed
    }
  });
  return {
    resp: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    write: (s: string) => ctl.enqueue(enc.encode(s)),
    end: () => ctl.close(),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('httpTransport', () => {
  it('posts calls to /v1/call with the token in a header, never a cookie', async () => {
    const { fetch, calls } = fakeFetch(() => jsonResponse(200, { result: { id: 'x' } }));
    const t = httpTransport({ fetch, setTimeout }, 'tok');
    expect(await t.call('create', ['n'], { download: 'true' })).toEqual({ id: 'x' });
    const { url, init } = calls[0];
    expect(url).toBe('/v1/call');
    expect(init.method).toBe('POST');
    const headers = init.headers as Record<string, string>;
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers.Authorization).toBe('Bearer tok');
    expect(JSON.parse(init.body as string)).toEqual({ op: 'create', args: ['n'], flags: { download: 'true' } });
    expect(init.credentials).toBe('omit');
    await t.meta();
    expect((calls[1].init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
    expect(calls[1].init.credentials).toBe('omit');
  });

  it('a call with no result resolves to null', async () => {
    const t = httpTransport({ fetch: fakeFetch(() => jsonResponse(200, {})).fetch, setTimeout }, 'tok');
    expect(await t.call('resume', ['x'])).toBeNull();
  });

  it('rejects with the engine error', async () => {
    const { fetch } = fakeFetch(() => jsonResponse(404, { error: { code: '0x80200001', name: 'BG_E_NOT_FOUND', message: 'gone' } }));
    const t = httpTransport({ fetch, setTimeout }, 'tok');
    const err = await rejection(t.call('info', ['x']));
    expect(err).toBeInstanceOf(OpError);
    expect(err.name).toBe('BG_E_NOT_FOUND');
  });

  it('rejects readably when the token is missing or the server is gone', async () => {
    const { fetch, calls } = fakeFetch(() => jsonResponse(401, { error: { code: '0x80070005', name: 'E_ACCESSDENIED', message: 'token' } }));
    const t401 = httpTransport({ fetch, setTimeout }, '');
    expect((await rejection(t401.call('list'))).name).toBe('E_ACCESSDENIED');
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBeUndefined();
    const down = httpTransport({
      fetch: (async () => {
        throw new TypeError('Failed to fetch');
      }) as unknown as typeof fetch,
      setTimeout,
    }, 'tok');
    const err = await rejection(down.call('list'));
    expect(err.name).toBe('E_FAIL');
    expect(err.message).toMatch(/cannot be reached/);
  });

  it('streams events with the token, and reconnects dropped and refused streams', async () => {
    const streams: ReturnType<typeof sseStream>[] = [];
    let refuse: number | null = null;
    const { fetch, calls } = fakeFetch((_url, init) => {
      if (refuse === 429) return jsonResponse(429, { error: { code: '0x80004005', name: 'E_FAIL', message: 'close other Ferry tabs' } });
      if (refuse) return jsonResponse(refuse, { error: { code: '0x80070005', name: 'E_ACCESSDENIED', message: 'open the printed address' } });
      const s = sseStream(init);
      streams.push(s);
      return s.resp;
    });
    const timers: { cb: () => void; ms: number }[] = [];
    const t = httpTransport({ fetch, setTimeout: (cb, ms) => timers.push({ cb, ms }) }, 'tok');
    const jobs: string[] = [];
    let ready = 0;
    const lost: (OpError | undefined)[] = [];
    const sub = t.subscribe({ job: (j) => jobs.push(j.id), ready: () => ready++, lost: (e) => lost.push(e) });
    await tick();
    expect(calls[0].url).toBe('/v1/events');
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
    expect(calls[0].init.credentials).toBe('omit');
    const s = streams[0];
    // Events split anywhere across chunks still arrive whole.
    s.write('retry: 1500\n\nevent: re');
    s.write('ady\ndata: {}\n\nevent: job\ndata: ' + JSON.stringify(job('a')).slice(0, 10));
    s.write(JSON.stringify(job('a')).slice(10) + '\n\n: keep-alive\n\n');
    await tick();
    expect([ready, jobs]).toEqual([1, ['a']]);
    // The engine dropped the stream for falling behind: lost; the stream
    // ends and is opened again after the server's retry delay.
    s.write('event: overflow\ndata: {}\n\n');
    s.end();
    await tick();
    expect(lost.length).toBe(2);
    expect(timers.map((x) => x.ms)).toEqual([1500]);
    timers.shift()!.cb();
    await tick();
    expect(streams).toHaveLength(2);
    streams[1].write('event: ready\ndata: {}\n\n');
    await tick();
    expect(ready).toBe(2);
    // A refused stream (no engine: 503) is tried again later.
    refuse = 503;
    streams[1].end();
    await tick();
    timers.shift()!.cb();
    await tick();
    expect(calls).toHaveLength(3);
    expect(timers.map((x) => x.ms)).toEqual([2000]);
    expect(lost[lost.length - 1]).toBeUndefined();
    // Refused for want of the token, or with too many streams open: the
    // reason is passed on, to show, and the stream is tried again.
    refuse = 401;
    timers.shift()!.cb();
    await tick();
    expect(lost[lost.length - 1]?.name).toBe('E_ACCESSDENIED');
    refuse = 429;
    timers.shift()!.cb();
    await tick();
    expect(lost[lost.length - 1]?.message).toBe('close other Ferry tabs');
    expect(timers.map((x) => x.ms)).toEqual([2000]);
    // Closing aborts the open stream and stops the retries.
    refuse = null;
    timers.shift()!.cb();
    await tick();
    expect(streams).toHaveLength(3);
    const n = lost.length;
    sub.close();
    expect(calls[calls.length - 1].init.signal!.aborted).toBe(true);
    await tick();
    expect([lost.length, timers.length]).toEqual([n, 0]);
  });
});

describe('SSEParser', () => {
  it('reads fields, multi-line data, comments, CRLF and CR line ends', () => {
    const p = new SSEParser();
    expect(p.push(': hello\r\nevent: job\r\ndata: a\r\ndata:b\r')).toEqual([]);
    expect(p.push('\n\r\ndata: plain\r\rretry: x\n\nretry: 700\n')).toEqual([
      { event: 'job', data: 'a\nb' },
      { event: 'message', data: 'plain' },
    ]);
    expect(p.retry).toBe(700);
    expect(p.push('event: only\n\n')).toEqual([]); // no data: nothing dispatched
    expect(p.push('data\n\n')).toEqual([{ event: 'message', data: '' }]);
  });
});

describe('takeToken', () => {
  function place(href: string, stored: Record<string, string> = {}) {
    const replaced: string[] = [];
    return {
      replaced,
      stored,
      w: {
        location: { href },
        history: { replaceState: (_d: unknown, _u: string, url: string) => void replaced.push(url) },
        sessionStorage: { getItem: (k: string) => stored[k] ?? null, setItem: (k: string, v: string) => void (stored[k] = v) },
      },
    };
  }

  it('moves the token from the printed link into the tab, and out of the address bar', () => {
    const p = place('http://127.0.0.1:8080/?token=abc&x=1#jobs');
    expect(takeToken(p.w)).toBe('abc');
    expect(Object.values(p.stored)).toEqual(['abc']);
    expect(p.replaced).toEqual(['/?x=1#jobs']);
  });

  it('finds it again after a reload', () => {
    const first = place('http://127.0.0.1:8080/?token=abc');
    takeToken(first.w);
    const reload = place('http://127.0.0.1:8080/', first.stored);
    expect(takeToken(reload.w)).toBe('abc');
    expect(reload.replaced).toEqual([]);
  });

  it('works without storage, and without a token', () => {
    const p = place('http://127.0.0.1:8080/?token=abc');
    const blocked = {
      ...p.w,
      get sessionStorage(): never {
        throw new DOMException('blocked', 'SecurityError');
      },
    };
    expect(takeToken(blocked)).toBe('abc');
    expect(p.replaced).toEqual(['/']);
    expect(takeToken(place('http://127.0.0.1:8080/').w)).toBe('');
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
