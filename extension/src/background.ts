// The background of Ferry's extension (Chromium's service worker, Firefox's
// background script): the context menus, the takeover of the browser's own
// downloads, and the request headers a download needs. Every listener is
// registered synchronously at the top level, so that an event that wakes the
// worker (the first download after the browser starts) finds it listening.
import { ext, HOST } from './ext';
import {
  basename,
  cookieHeader,
  HeaderCache,
  isHTTP,
  parseOptions,
  pickHeaders,
  sameOrigin,
  takeoverDecision,
  type Options,
  type Reply,
} from './logic';
import type { DownloadItem, MenuInfo, Tab } from './types';

/** The menu items, as registered (also rendered by the e2e test's screenshot). */
export const menus = [
  { id: 'ferry-link', title: 'Download with Ferry', contexts: ['link', 'image', 'video', 'audio'] },
  { id: 'ferry-selection', title: 'Download all links with Ferry', contexts: ['selection'] },
];

async function createMenus() {
  await ext.contextMenus.removeAll();
  for (const m of menus) ext.contextMenus.create(m);
}
ext.runtime.onInstalled.addListener(() => void createMenus());
ext.runtime.onStartup.addListener(() => void createMenus());

// ---- talking to Ferry ------------------------------------------------------

let nextID = 1;

/** ask sends one request to ferry native-host; a host that cannot be started rejects. */
export async function ask(msg: Record<string, unknown>): Promise<Reply> {
  const rep = (await ext.runtime.sendNativeMessage(HOST, { id: nextID++, ...msg })) as Reply | undefined;
  if (!rep) throw new Error('Ferry did not answer');
  return rep;
}

/** The outcome of the last hand-over, for the popup (and the tests). */
async function noteResult(r: { ok: boolean; job?: string; message: string; url: string }) {
  await ext.storage.local.set({ lastResult: { ...r, at: new Date().toISOString() } });
}

// ---- headers ---------------------------------------------------------------

const captured = new HeaderCache();
const captureFilter = { urls: ['<all_urls>'], types: ['main_frame', 'sub_frame', 'other', 'media', 'image', 'xmlhttprequest'] };
const capture = (d: { url: string; requestHeaders?: { name: string; value?: string }[] }) => {
  const h = pickHeaders(d.requestHeaders);
  if (Object.keys(h).length) captured.put(d.url, h);
};
try {
  // Chromium shows Cookie to a listener only with extraHeaders.
  ext.webRequest.onBeforeSendHeaders.addListener(capture, captureFilter, ['requestHeaders', 'extraHeaders']);
} catch {
  // Firefox has no extraHeaders (and shows Cookie without it).
  ext.webRequest.onBeforeSendHeaders.addListener(capture, captureFilter, ['requestHeaders']);
}

/** headersFor builds the headers of a job of these URLs: those the browser sent for
 * the first (webRequest), else the cookies that apply to every one of them. */
async function headersFor(urls: string[], referrer?: string): Promise<Record<string, string>> {
  const h: Record<string, string> = { ...(captured.get(urls[0]) ?? {}) };
  const multiOrigin = !sameOrigin(urls);
  if (multiOrigin) {
    // One job has one set of headers: a site's session must not reach another.
    delete h.Cookie;
    delete h.Authorization;
  } else if (!h.Cookie) {
    const c = cookieHeader(await Promise.all(urls.map((url) => ext.cookies.getAll({ url }))));
    if (c) h.Cookie = c;
  }
  if (!h.Referer && referrer && isHTTP(referrer)) h.Referer = referrer;
  if (!h['User-Agent']) h['User-Agent'] = navigator.userAgent;
  return h;
}

// ---- context menus ---------------------------------------------------------

/** linksInSelection runs in the page: the links the selection touches. */
function linksInSelection(): string[] {
  const sel = getSelection();
  const out = new Set<string>();
  if (!sel) return [];
  for (let i = 0; i < sel.rangeCount; i++) {
    const r = sel.getRangeAt(i);
    const root = r.commonAncestorContainer;
    const el = root.nodeType === 1 ? (root as Element) : root.parentElement;
    if (!el) continue;
    const anchors = [...el.querySelectorAll('a[href]')] as HTMLAnchorElement[];
    const up = el.closest('a[href]') as HTMLAnchorElement | null;
    if (up) anchors.push(up);
    for (const a of anchors) if (r.intersectsNode(a)) out.add(a.href);
  }
  return [...out];
}

/** onMenuClicked is what both menu items do; contextMenus.onClicked calls it. */
export async function onMenuClicked(info: MenuInfo, tab?: Tab): Promise<Reply | { ok: false; error: { name: string; message: string } }> {
  let urls: string[] = [];
  if (info.menuItemId === 'ferry-link') {
    urls = [info.linkUrl ?? info.srcUrl ?? ''];
  } else if (info.menuItemId === 'ferry-selection' && tab?.id !== undefined) {
    const res = ext.scripting
      ? await ext.scripting.executeScript({ target: { tabId: tab.id, allFrames: false }, func: linksInSelection })
      : [];
    urls = (res[0]?.result as string[] | undefined) ?? [];
  }
  urls = [...new Set(urls.filter(isHTTP))];
  if (urls.length === 0) {
    const error = { name: 'E_INVALIDARG', message: 'no http(s) link to download' };
    await noteResult({ ok: false, message: error.message, url: '' });
    return { ok: false, error };
  }
  const referrer = info.pageUrl ?? tab?.url;
  const name = urls.length === 1 ? basename(new URL(urls[0]).pathname) || 'download' : `${urls.length} links from ${tab?.title ?? referrer ?? 'a page'}`;
  const items = urls.map((url) => ({ url }));
  try {
    const rep = await ask({ type: 'download', name, items, headers: await headersFor(urls, referrer) });
    const job = (rep.data as { job?: string } | undefined)?.job;
    await noteResult({ ok: rep.ok, job, message: rep.ok ? `Ferry took ${urls.length} file(s)` : `${rep.error?.name}: ${rep.error?.message}`, url: urls[0] });
    return rep;
  } catch (e) {
    const error = { name: 'HOST_UNREACHABLE', message: `Ferry cannot be reached: ${(e as Error).message} (run ferry browser install)` };
    await noteResult({ ok: false, message: error.message, url: urls[0] });
    return { ok: false, error };
  }
}
ext.contextMenus.onClicked.addListener((info, tab) => void onMenuClicked(info, tab));

// ---- takeover of the browser's downloads -----------------------------------

async function options(): Promise<Options> {
  return parseOptions((await ext.storage.local.get('options')).options);
}

/** handOver asks Ferry to take a browser download that is paused. It returns
 * true only when Ferry accepted it; the caller then cancels and erases the
 * browser's copy, and otherwise resumes it: never both, never neither. */
async function handOver(item: DownloadItem): Promise<boolean> {
  const url = item.finalUrl || item.url;
  try {
    const rep = await ask({
      type: 'download',
      name: basename(item.filename) || 'browser download',
      items: [{ url, filename: basename(item.filename) }],
      headers: await headersFor([url], item.referrer),
    });
    const job = (rep.data as { job?: string } | undefined)?.job;
    await noteResult({ ok: rep.ok, job, message: rep.ok ? 'Ferry took the download' : `Ferry did not take it, the browser keeps the download: ${rep.error?.name}: ${rep.error?.message}`, url });
    return rep.ok;
  } catch (e) {
    await noteResult({ ok: false, message: `Ferry cannot be reached, the browser keeps the download: ${(e as Error).message}`, url });
    return false;
  }
}

async function takeOver(item: DownloadItem, suggest?: (s?: { filename: string }) => void) {
  let decided = false;
  try {
    const d = takeoverDecision(item, await options(), ext.runtime.id);
    if (!d.take) return;
    await ext.downloads.pause(item.id).catch(() => undefined);
    if (await handOver(item)) {
      // Cancelled before a name is suggested, so that it never becomes a
      // file or a history entry of the browser; then erased from the list.
      await ext.downloads.cancel(item.id).catch(() => undefined);
      await ext.downloads.erase({ id: item.id });
      decided = true;
      await rememberHandedOver(item);
      return;
    }
    await ext.downloads.resume(item.id).catch(() => undefined);
  } finally {
    if (!decided) suggest?.();
  }
}

// Chromium writes a download cancelled this early to its history after the
// erase, so it comes back, cancelled, after a restart: the hand-overs are
// remembered and their leftovers erased whenever the worker starts.
interface HandedOver {
  url: string;
  startTime?: string;
}

async function rememberHandedOver(item: DownloadItem) {
  const { handedOver } = await ext.storage.local.get('handedOver');
  const list = ((handedOver as HandedOver[] | undefined) ?? []).slice(-99);
  list.push({ url: item.url, startTime: item.startTime });
  await ext.storage.local.set({ handedOver: list });
}

async function eraseLeftovers() {
  const { handedOver } = await ext.storage.local.get('handedOver');
  const list = (handedOver as HandedOver[] | undefined) ?? [];
  if (!list.length) return;
  const keep: HandedOver[] = [];
  for (const h of list) {
    const found = await ext.downloads.search({ url: h.url, state: 'interrupted' });
    const mine = found.filter((d) => d.startTime === h.startTime && d.error === 'USER_CANCELED');
    for (const d of mine) await ext.downloads.erase({ id: d.id });
    if (!mine.length) keep.push(h);
  }
  // A record is kept until its leftover was seen (at most 100, the newest).
  await ext.storage.local.set({ handedOver: keep.slice(-100) });
}
void eraseLeftovers();

if (ext.downloads.onDeterminingFilename) {
  // Chromium: the download waits for suggest(), which takeOver always calls.
  ext.downloads.onDeterminingFilename.addListener((item, suggest) => {
    void takeOver(item, suggest);
    return true;
  });
} else {
  // Firefox has no onDeterminingFilename: pause as soon as it is created.
  ext.downloads.onCreated.addListener((item) => void takeOver(item));
}

// The e2e tests reach the menus' handler through the worker (a context menu
// cannot be clicked by automation): the same function the menu calls.
Object.assign(globalThis, { ferry: { onMenuClicked, menus, ask } });
