// The one seam between the UI and the engine. Both transports carry the same
// operations (the ops table: create, addfile, setpriority, list, config, …)
// and the same pushed job changes; nothing else in the UI knows which one it
// talks through:
//
//   - in the desktop window, Wails bindings: main.App.Call runs the ops
//     handlers in-process, and changes arrive as Wails events;
//   - in a browser (`ferry web`), HTTP: POST /v1/call, and changes as
//     Server-Sent Events from GET /v1/events, both with the access token
//     in an Authorization header (see takeToken).
import type { JobInfo, Meta, Notice, OpErrorBody } from './types';

/** OpError is a failed operation: BITS' error name and code, and the engine's message. */
export class OpError extends Error {
  readonly code: string;
  constructor(body: OpErrorBody) {
    super(body.message);
    this.name = body.name;
    this.code = body.code;
  }
}

/** asOpError turns whatever a transport rejected with into an OpError. */
export function asOpError(e: unknown): OpError {
  if (e instanceof OpError) return e;
  if (e && typeof e === 'object' && 'name' in e && 'message' in e && 'code' in e) {
    const b = e as OpErrorBody;
    if (typeof b.name === 'string' && typeof b.message === 'string') return new OpError(b);
  }
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e);
  return new OpError({ code: '0x80004005', name: 'E_FAIL', message });
}

export interface Subscription {
  /** stops the stream. */
  close(): void;
}

export interface Handlers {
  /** a job's new state (a final state means it left the list). */
  job(job: JobInfo): void;
  /**
   * ready: the stream is live. Called first, and again after a reconnect or
   * after the engine dropped a stream that fell behind its events;
   * the UI lists the jobs then, so no change falls between list and stream.
   */
  ready(): void;
  /**
   * lost: the stream dropped; it reconnects by itself. err, when given, is
   * a refusal that waiting alone may not cure (no token, too many tabs), to show.
   */
  lost?(err?: OpError): void;
}

export interface Transport {
  readonly kind: 'wails' | 'http';
  /** call runs one operation; it rejects with an OpError. */
  call<T = unknown>(op: string, args?: string[], flags?: Record<string, string>): Promise<T>;
  meta(): Promise<Meta>;
  subscribe(h: Handlers): Subscription;
  /** notices the desktop app wants shown, now and later. */
  onNotice(cb: (n: Notice) => void): void;
  /** the tray or a notification asks to open a job. */
  onOpenJob(cb: (id: string) => void): void;
  /** files dropped on the window, with their paths (the window only). */
  onFileDrop(cb: (paths: string[]) => void): void;
  /** the system's folder and file pickers, where there are any ("" when cancelled). */
  pickDirectory?(title: string): Promise<string>;
  pickFile?(title: string): Promise<string>;
}

// What Wails injects into the page: the bound Go methods and its runtime.
// Typed by hand, because wailsjs' generated models type Go enums that
// marshal as text (state, priority) as numbers.
export interface WailsApp {
  Call(op: string, args: string[], flags: Record<string, string>): Promise<unknown>;
  Meta(): Promise<Meta>;
  Notices(): Promise<Notice[] | null>;
  PickDirectory(title: string): Promise<string>;
  PickFile(title: string): Promise<string>;
}

export interface WailsRuntime {
  EventsOn(name: string, cb: (...data: unknown[]) => void): () => void;
  OnFileDrop?(cb: (x: number, y: number, paths: string[]) => void, useDropTarget: boolean): void;
}

export interface WailsWindow {
  go?: { main?: { App?: WailsApp } };
  runtime?: WailsRuntime;
}

/** wailsTransport talks to main.App; null when the page does not run inside Wails. */
export function wailsTransport(w: WailsWindow): Transport | null {
  const app = w.go?.main?.App;
  const rt = w.runtime;
  if (!app || !rt) return null;
  return {
    kind: 'wails',
    async call<T>(op: string, args: string[] = [], flags: Record<string, string> = {}) {
      try {
        return (await app.Call(op, args, flags)) as T;
      } catch (e) {
        throw asOpError(e);
      }
    },
    meta: () => app.Meta(),
    subscribe(h) {
      // Wails events are in-process: the subscription is live at once.
      const off = rt.EventsOn('job', (job) => h.job(job as JobInfo));
      // The window fell behind the engine's events and subscribed again:
      // list the jobs anew, as after a reconnect.
      const offResync = rt.EventsOn('resync', () => h.ready());
      queueMicrotask(() => h.ready());
      return {
        close() {
          off();
          offResync();
        },
      };
    },
    onNotice(cb) {
      rt.EventsOn('notice', (n) => cb(n as Notice));
      void app.Notices().then((ns) => (ns ?? []).forEach(cb));
    },
    onOpenJob(cb) {
      rt.EventsOn('open-job', (id) => cb(String(id)));
    },
    onFileDrop(cb) {
      // A dropped link (not a file) arrives here as an empty path: the
      // page's own drop event carries it.
      rt.OnFileDrop?.((_x, _y, paths) => cb((paths ?? []).filter((p) => p)), false);
    },
    pickDirectory: (title) => app.PickDirectory(title),
    pickFile: (title) => app.PickFile(title),
  };
}

/** What httpTransport needs of the browser, so that tests can fake it. */
export interface HttpEnv {
  fetch: typeof fetch;
  setTimeout(cb: () => void, ms: number): unknown;
}

/** reconnectMs: how soon a refused event stream is tried again. */
export const reconnectMs = 2000;

/** dropRetryMs: how soon a dropped stream is tried again, unless the server said (SSE "retry:"). */
export const dropRetryMs = 1000;

/** One Server-Sent Event: its type ("message" when unnamed) and its data. */
export interface SSEvent {
  event: string;
  data: string;
}

/**
 * SSEParser reads a text/event-stream in whatever chunks the network gives
 * (the HTML standard's rules: lines end in LF, CR or CRLF; "field: value";
 * comments start with ":"; a blank line dispatches). EventSource cannot send
 * an Authorization header, so the page reads the stream with fetch.
 */
export class SSEParser {
  /** retry is the reconnection delay the server asked for, if it did. */
  retry: number | undefined;
  private buf = '';
  private event = '';
  private data: string[] = [];
  private hasData = false;

  push(chunk: string): SSEvent[] {
    this.buf += chunk;
    const out: SSEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      // A lone CR at the end may be the first half of a CRLF: wait.
      if (!m || (m[0] === '\r' && m.index === this.buf.length - 1)) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  private line(line: string): SSEvent | null {
    if (line === '') {
      const ev = this.hasData ? { event: this.event || 'message', data: this.data.join('\n') } : null;
      this.event = '';
      this.data = [];
      this.hasData = false;
      return ev;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    return null;
  }
}

/** The tab's storage of the token (sessionStorage: this tab and this origin, port included). */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface TokenPlace {
  location: { href: string };
  history: { replaceState(data: unknown, unused: string, url: string): void };
  sessionStorage?: TokenStore | null;
}

const tokenKey = 'ferry.token';

/**
 * takeToken returns the access token of `ferry web`. The printed link
 * carries it in ?token=; it moves into the tab's sessionStorage, which
 * survives a reload but no other site, port or tab sees, and leaves the
 * address bar and the history entry. Never a cookie: browsers send a
 * cookie of 127.0.0.1 to every port of 127.0.0.1, so any other program's
 * server the user visits would receive it.
 */
export function takeToken(w: TokenPlace): string {
  let store: TokenStore | null = null;
  try {
    store = w.sessionStorage ?? null; // reading it throws where storage is blocked
  } catch {
    store = null;
  }
  const url = new URL(w.location.href);
  const fromURL = url.searchParams.get('token');
  if (fromURL) {
    try {
      store?.setItem(tokenKey, fromURL);
    } catch {
      // No storage: the token lives in this page only; a reload needs the link again.
    }
    url.searchParams.delete('token');
    w.history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromURL;
  }
  try {
    return store?.getItem(tokenKey) ?? '';
  } catch {
    return '';
  }
}

/** httpTransport talks to `ferry web` at base (the page's own origin), sending token in a header. */
export function httpTransport(env: HttpEnv, token: string, base = ''): Transport {
  // Cookies are neither needed nor sent: the token travels in this header.
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
    let resp: Response;
    try {
      resp = await env.fetch(base + path, { ...init, credentials: 'omit', headers: { ...auth, ...(init.headers as Record<string, string>) } });
    } catch (e) {
      throw new OpError({ code: '0x80004005', name: 'E_FAIL', message: `ferry web cannot be reached: ${asOpError(e).message}` });
    }
    return readBody<T>(resp);
  }
  return {
    kind: 'http',
    async call<T>(op: string, args: string[] = [], flags: Record<string, string> = {}) {
      const body = await request<{ result?: T }>('/v1/call', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ op, args, flags }),
      });
      return (body.result ?? null) as T;
    },
    meta: () => request<Meta>('/v1/meta'),
    subscribe(h) {
      let closed = false;
      let abort: AbortController | null = null;
      let retry = dropRetryMs;
      const again = (ms: number) => {
        if (!closed) env.setTimeout(() => void open(), ms);
      };
      const open = async () => {
        if (closed) return;
        const ac = new AbortController();
        abort = ac;
        let resp: Response;
        try {
          resp = await env.fetch(base + '/v1/events', {
            credentials: 'omit',
            cache: 'no-store',
            headers: { ...auth, Accept: 'text/event-stream' },
            signal: ac.signal,
          });
        } catch {
          if (closed) return;
          h.lost?.();
          again(reconnectMs);
          return;
        }
        if (!resp.ok || !resp.body) {
          // Refused: no engine (503: "reconnecting" says it all), or for a
          // reason the user can act on, passed on to show: no token (401,
          // 403), too many streams open (429: other tabs to close).
          let err: OpError | undefined;
          try {
            await readBody(resp);
          } catch (e) {
            err = asOpError(e);
          }
          h.lost?.([401, 403, 429].includes(resp.status) ? err : undefined);
          again(reconnectMs);
          return;
        }
        const reader = resp.body.getReader();
        const text = new TextDecoder();
        const sse = new SSEParser();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            for (const ev of sse.push(text.decode(value, { stream: true }))) {
              if (ev.event === 'ready') h.ready();
              else if (ev.event === 'job') h.job(JSON.parse(ev.data) as JobInfo);
              // The engine dropped this stream for falling behind; it ends
              // now, it is opened again, and the next "ready" lists the jobs again.
              else if (ev.event === 'overflow') h.lost?.();
            }
          }
        } catch (e) {
          if (!closed && !(e instanceof DOMException && e.name === 'AbortError')) console.warn('ferry: the event stream broke:', e);
        } finally {
          reader.cancel().catch(() => {});
        }
        if (closed) return;
        retry = sse.retry ?? retry;
        h.lost?.();
        again(retry);
      };
      void open();
      return {
        close() {
          closed = true;
          abort?.abort();
        },
      };
    },
    onNotice() {},
    onOpenJob() {},
    onFileDrop() {},
  };
}

/** readBody reads a JSON answer of `ferry web`, rejecting with its error. */
async function readBody<T>(resp: Response): Promise<T> {
  let body: { result?: T; error?: OpErrorBody } | T;
  try {
    body = await resp.json();
  } catch {
    throw new OpError({ code: '0x80004005', name: 'E_FAIL', message: `ferry web answered ${resp.status} ${resp.statusText}` });
  }
  if (!resp.ok || (body && typeof body === 'object' && 'error' in body && body.error)) {
    const err = (body as { error?: OpErrorBody }).error;
    throw new OpError(err ?? { code: '0x80004005', name: 'E_FAIL', message: `ferry web answered ${resp.status}` });
  }
  return body as T;
}

/** pickTransport returns the transport of the environment the page runs in. */
export function pickTransport(
  w: WailsWindow & Partial<HttpEnv> & Partial<TokenPlace> = window as unknown as WailsWindow & Partial<HttpEnv> & Partial<TokenPlace>,
): Transport {
  const wails = wailsTransport(w);
  if (wails) return wails;
  if (!w.fetch || !w.location || !w.history || typeof ReadableStream === 'undefined') {
    throw new Error('this browser lacks fetch with streamed responses');
  }
  return httpTransport(
    {
      fetch: w.fetch.bind(w),
      setTimeout: (cb, ms) => setTimeout(cb, ms),
    },
    takeToken(w as TokenPlace),
  );
}
