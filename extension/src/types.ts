// The WebExtension APIs the extension uses, typed as far as it uses them
// (Chromium's chrome.* and Firefox's browser.* both answer with promises in
// Manifest V3). Kept here rather than @types/chrome: a few dozen lines
// against a large package whose Chrome-only types would mislead for Firefox.
export interface Ev<F> {
  addListener(f: F, ...rest: unknown[]): void;
}
export interface DownloadItem {
  id: number;
  url: string;
  finalUrl?: string;
  filename: string;
  mime?: string;
  totalBytes: number;
  fileSize?: number;
  state: string;
  byExtensionId?: string;
  referrer?: string;
  startTime?: string;
  error?: string;
}
export interface MenuInfo {
  menuItemId: string | number;
  linkUrl?: string;
  srcUrl?: string;
  pageUrl?: string;
  selectionText?: string;
  mediaType?: string;
}
export interface Tab {
  id?: number;
  url?: string;
  title?: string;
}
export interface HttpHeader {
  name: string;
  value?: string;
}
export interface Port {
  postMessage(m: unknown): void;
  disconnect(): void;
  onMessage: Ev<(m: unknown) => void>;
  onDisconnect: Ev<(p: Port) => void>;
  error?: { message?: string };
}
export interface Ext {
  runtime: {
    id: string;
    lastError?: { message?: string };
    sendNativeMessage(host: string, msg: unknown): Promise<unknown>;
    connectNative(host: string): Port;
    onInstalled: Ev<() => void>;
    onStartup: Ev<() => void>;
    openOptionsPage(): Promise<void>;
    getManifest(): { version: string; background?: { service_worker?: string } };
  };
  contextMenus: {
    create(p: { id: string; title: string; contexts: string[] }): void;
    removeAll(): Promise<void>;
    onClicked: Ev<(info: MenuInfo, tab?: Tab) => void>;
  };
  downloads: {
    pause(id: number): Promise<void>;
    resume(id: number): Promise<void>;
    cancel(id: number): Promise<void>;
    erase(q: { id: number }): Promise<number[]>;
    search(q: object): Promise<DownloadItem[]>;
    onCreated: Ev<(item: DownloadItem) => void>;
    onDeterminingFilename?: Ev<(item: DownloadItem, suggest: (s?: { filename: string }) => void) => boolean | void>;
  };
  webRequest: {
    onBeforeSendHeaders: Ev<(d: { url: string; requestHeaders?: HttpHeader[]; type: string }) => void>;
  };
  cookies: { getAll(q: { url: string }): Promise<{ name: string; value: string }[]> };
  storage: { local: { get(k: string | string[] | null): Promise<Record<string, unknown>>; set(v: Record<string, unknown>): Promise<void> } };
  scripting?: {
    executeScript(p: { target: { tabId: number; allFrames?: boolean }; func: () => unknown }): Promise<{ result?: unknown }[]>;
  };
  tabs: { executeScript?(tabId: number, p: { code: string; allFrames?: boolean }): Promise<unknown[]> };
}
