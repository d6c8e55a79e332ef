// The one seam between the UI and the engine. Both transports carry the same
// operations (the ops table: create, addfile, setpriority, list, config, …)
// and the same pushed job changes; nothing else in the UI knows which one it
// talks through:
//
//   - in the desktop window, Wails bindings: main.App.Call runs the ops
//     handlers in-process, and changes arrive as Wails events;
//   - in a browser (`ferry web`), HTTP: POST /v1/call, and changes as
//     Server-Sent Events from GET /v1/events.
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
  /** lost: the stream dropped; it reconnects by itself. */
  lost?(): void;
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
  EventSource: new (url: string) => EventSourceLike;
  setTimeout(cb: () => void, ms: number): unknown;
}

export interface EventSourceLike {
  readyState: number;
  onerror: ((ev: unknown) => void) | null;
  addEventListener(type: string, cb: (ev: MessageEvent) => void): void;
  close(): void;
}

const CLOSED = 2; // EventSource.CLOSED

/** reconnectMs: how soon a refused event stream is tried again (the browser retries dropped ones itself). */
export const reconnectMs = 2000;

/** httpTransport talks to `ferry web` at base (the page's own origin; the token is in a cookie). */
export function httpTransport(env: HttpEnv, base = ''): Transport {
  async function request<T>(path: string, init?: RequestInit): Promise<T> {
    let resp: Response;
    try {
      resp = await env.fetch(base + path, { credentials: 'same-origin', ...init });
    } catch (e) {
      throw new OpError({ code: '0x80004005', name: 'E_FAIL', message: `ferry web cannot be reached: ${asOpError(e).message}` });
    }
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
      let es: EventSourceLike | null = null;
      let closed = false;
      const open = () => {
        if (closed) return;
        const src = new env.EventSource(base + '/v1/events');
        es = src;
        src.addEventListener('ready', () => h.ready());
        src.addEventListener('job', (ev) => h.job(JSON.parse(ev.data) as JobInfo));
        // The engine dropped this stream for falling behind; it ends now,
        // the browser reconnects, and the next "ready" lists the jobs again.
        src.addEventListener('overflow', () => h.lost?.());
        src.onerror = () => {
          h.lost?.();
          // A dropped stream is retried by the browser; a refused one (the
          // engine could not be reached: 503) is closed for good, so retry it here.
          if (src.readyState === CLOSED) {
            src.close();
            env.setTimeout(open, reconnectMs);
          }
        };
      };
      open();
      return {
        close() {
          closed = true;
          es?.close();
        },
      };
    },
    onNotice() {},
    onOpenJob() {},
    onFileDrop() {},
  };
}

/** pickTransport returns the transport of the environment the page runs in. */
export function pickTransport(w: WailsWindow & Partial<HttpEnv> = window as unknown as WailsWindow & Partial<HttpEnv>): Transport {
  const wails = wailsTransport(w);
  if (wails) return wails;
  if (!w.fetch || !w.EventSource) throw new Error('this browser lacks fetch or EventSource');
  return httpTransport({
    fetch: w.fetch.bind(w),
    EventSource: w.EventSource,
    setTimeout: (cb, ms) => setTimeout(cb, ms),
  });
}
