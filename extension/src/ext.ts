import type { Ext } from './types';

declare const browser: Ext | undefined;
declare const chrome: Ext;

/** ext is Firefox's browser.* or Chromium's chrome.* (both promise-based in MV3). */
export const ext: Ext = typeof browser !== 'undefined' ? browser : chrome;

/** HOST is the native messaging host's name (backend/browser.HostName). */
export const HOST = 'org.ferry.host';
