// The extension's decisions, free of browser APIs so that vitest checks them.
import type { DownloadItem, HttpHeader } from './types';

/** Options are the options page's settings (storage.local "options"). */
export interface Options {
  /** takeover: hand the browser's own downloads to Ferry (off by default). */
  takeover: boolean;
  /** minSize: bytes; a download known to be smaller stays with the browser. */
  minSize: number;
  /** excludedTypes: file extensions (".iso", "pdf") or MIME types ("image/*") left to the browser. */
  excludedTypes: string[];
  /** excludedSites: host names (and their subdomains) left to the browser. */
  excludedSites: string[];
}

export const defaultOptions: Options = { takeover: false, minSize: 0, excludedTypes: [], excludedSites: [] };

export function parseOptions(raw: unknown): Options {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Partial<Record<keyof Options, unknown>>;
  const list = (v: unknown) =>
    (Array.isArray(v) ? v : typeof v === 'string' ? v.split(/[\s,]+/) : [])
      .map((s) => String(s).trim().toLowerCase())
      .filter(Boolean);
  const n = Number(o.minSize);
  return {
    takeover: o.takeover === true,
    minSize: Number.isFinite(n) && n > 0 ? Math.floor(n) : 0,
    excludedTypes: list(o.excludedTypes),
    excludedSites: list(o.excludedSites),
  };
}

export function basename(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return '';
  }
}

/** isHTTP: Ferry fetches http(s) only (never a page's file:, data: or blob: URL). */
export function isHTTP(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

/** takeoverDecision says whether Ferry should take a browser download, and if not why. */
export function takeoverDecision(item: DownloadItem, opts: Options, selfId: string): { take: boolean; why: string } {
  const url = item.finalUrl || item.url;
  if (!opts.takeover) return { take: false, why: 'takeover is off' };
  if (item.byExtensionId === selfId) return { take: false, why: 'started by this extension' };
  if (!isHTTP(url)) return { take: false, why: 'not an http(s) URL' };
  const size = item.totalBytes > 0 ? item.totalBytes : (item.fileSize ?? 0);
  if (size > 0 && size < opts.minSize) return { take: false, why: `smaller than ${opts.minSize} bytes` };
  const host = hostOf(url);
  if (opts.excludedSites.some((s) => host === s || host.endsWith(`.${s}`))) return { take: false, why: `${host} is excluded` };
  const name = basename(item.filename || new URL(url).pathname).toLowerCase();
  const mime = (item.mime ?? '').toLowerCase();
  for (const t of opts.excludedTypes) {
    if (t.includes('/')) {
      if (t.endsWith('/*') ? mime.startsWith(t.slice(0, -1)) : mime === t) return { take: false, why: `${mime} is excluded` };
    } else if (name.endsWith(t.startsWith('.') ? t : `.${t}`)) {
      return { take: false, why: `${t} files are excluded` };
    }
  }
  return { take: true, why: '' };
}

/** forwarded are the request headers a download keeps (backend/browser's list). */
export const forwarded = ['Cookie', 'Authorization', 'Referer', 'User-Agent'];

/** pickHeaders keeps the forwarded headers of a request, by their canonical names. */
export function pickHeaders(hs: HttpHeader[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of hs ?? []) {
    const name = forwarded.find((f) => f.toLowerCase() === h.name.toLowerCase());
    if (name && h.value) out[name] = h.value;
  }
  return out;
}

/** HeaderCache remembers recent requests' headers by URL, so that a download
 * (which starts as a navigation) finds the Cookie and Authorization it was sent with. */
export class HeaderCache {
  #m = new Map<string, { at: number; h: Record<string, string> }>();
  constructor(
    private readonly max = 256,
    private readonly ttlMs = 5 * 60_000,
  ) {}
  put(url: string, h: Record<string, string>, now = Date.now()) {
    this.#m.delete(url);
    this.#m.set(url, { at: now, h });
    while (this.#m.size > this.max) this.#m.delete(this.#m.keys().next().value as string);
  }
  get(url: string, now = Date.now()): Record<string, string> | undefined {
    const e = this.#m.get(url);
    if (!e || now - e.at > this.ttlMs) return undefined;
    return e.h;
  }
}

/** sameOrigin: one Cookie header may go to every file of a job only if they share an origin. */
export function sameOrigin(urls: string[]): boolean {
  try {
    const o = new Set(urls.map((u) => new URL(u).origin));
    return o.size === 1;
  } catch {
    return false;
  }
}

/** cookieHeader joins the cookies that apply to every URL ("" for none). */
export function cookieHeader(perURL: { name: string; value: string }[][]): string {
  if (perURL.length === 0) return '';
  const key = (c: { name: string; value: string }) => `${c.name}=${c.value}`;
  let common = perURL[0].map(key);
  for (const cs of perURL.slice(1)) {
    const s = new Set(cs.map(key));
    common = common.filter((k) => s.has(k));
  }
  return common.join('; ');
}

/** formatBytes: 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  if (n < 0) return '?';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${u[i]}`;
}

/** JobView is a job as the host sends it (backend/browser.JobView). */
export interface JobView {
  id: string;
  name: string;
  state: string;
  bytesTotal: number;
  bytesTransferred: number;
  filesTotal: number;
  filesTransferred: number;
  error?: string;
}

/** progress is a job's fraction done (null when the size is not known). */
export function progress(j: JobView): number | null {
  if (j.bytesTotal > 0) return Math.min(1, j.bytesTransferred / j.bytesTotal);
  if (j.state === 'TRANSFERRED') return 1;
  return null;
}

/** Reply is the host's answer (backend/browser.Reply). */
export interface Reply {
  id: number;
  ok: boolean;
  push?: boolean;
  error?: { code: string; name: string; message: string };
  data?: unknown;
}
