import { describe, expect, it } from 'vitest';
import { cookieHeader, defaultOptions, HeaderCache, parseOptions, pickHeaders, progress, sameOrigin, takeoverDecision } from './logic';
import type { DownloadItem } from './types';

const item = (o: Partial<DownloadItem> = {}): DownloadItem => ({
  id: 1,
  url: 'https://files.example.org/a/b.iso',
  filename: '/home/u/Downloads/b.iso',
  totalBytes: 10 << 20,
  state: 'in_progress',
  mime: 'application/octet-stream',
  ...o,
});
const on = { ...defaultOptions, takeover: true };

describe('takeoverDecision', () => {
  it('is off by default', () => {
    expect(parseOptions(undefined).takeover).toBe(false);
    expect(takeoverDecision(item(), defaultOptions, 'me').take).toBe(false);
  });
  it('takes an http download when on', () => {
    expect(takeoverDecision(item(), on, 'me')).toEqual({ take: true, why: '' });
  });
  it('leaves small, excluded, foreign-scheme and own downloads alone', () => {
    expect(takeoverDecision(item({ totalBytes: 100 }), { ...on, minSize: 1000 }, 'me').take).toBe(false);
    // An unknown size is taken (the browser often does not know it yet).
    expect(takeoverDecision(item({ totalBytes: -1 }), { ...on, minSize: 1000 }, 'me').take).toBe(true);
    expect(takeoverDecision(item(), parseOptions({ takeover: true, excludedTypes: 'pdf, .ISO' }), 'me').take).toBe(false);
    expect(takeoverDecision(item({ mime: 'image/png', filename: 'x.png' }), parseOptions({ takeover: true, excludedTypes: ['image/*'] }), 'me').take).toBe(false);
    expect(takeoverDecision(item(), parseOptions({ takeover: true, excludedSites: 'example.org' }), 'me').take).toBe(false);
    expect(takeoverDecision(item(), parseOptions({ takeover: true, excludedSites: 'ample.org' }), 'me').take).toBe(true);
    expect(takeoverDecision(item({ url: 'blob:https://x/1' }), on, 'me').take).toBe(false);
    expect(takeoverDecision(item({ byExtensionId: 'me' }), on, 'me').take).toBe(false);
  });
});

describe('headers', () => {
  it('keeps the forwarded headers only, canonically named', () => {
    expect(
      pickHeaders([
        { name: 'cookie', value: 'a=1' },
        { name: 'user-agent', value: 'UA' },
        { name: 'Accept', value: '*/*' },
        { name: 'authorization', value: 'Bearer t' },
      ]),
    ).toEqual({ Cookie: 'a=1', 'User-Agent': 'UA', Authorization: 'Bearer t' });
  });
  it('sends a cookie to every file only when it applies to all', () => {
    expect(cookieHeader([[{ name: 'a', value: '1' }, { name: 'b', value: '2' }], [{ name: 'a', value: '1' }]])).toBe('a=1');
    expect(cookieHeader([])).toBe('');
    expect(sameOrigin(['https://a.org/x', 'https://a.org/y'])).toBe(true);
    expect(sameOrigin(['https://a.org/x', 'https://b.org/y'])).toBe(false);
    expect(sameOrigin(['https://a.org/x', 'http://a.org/y'])).toBe(false);
  });
  it('remembers recent requests, boundedly', () => {
    const c = new HeaderCache(2, 1000);
    c.put('u1', { Cookie: '1' }, 0);
    c.put('u2', { Cookie: '2' }, 0);
    c.put('u3', { Cookie: '3' }, 0);
    expect(c.get('u1', 10)).toBeUndefined();
    expect(c.get('u3', 10)).toEqual({ Cookie: '3' });
    expect(c.get('u3', 2000)).toBeUndefined();
  });
});

describe('progress', () => {
  it('is a fraction, or null when the size is unknown', () => {
    const j = { id: '1', name: 'n', state: 'TRANSFERRING', bytesTotal: 200, bytesTransferred: 50, filesTotal: 1, filesTransferred: 0 };
    expect(progress(j)).toBe(0.25);
    expect(progress({ ...j, bytesTotal: -1 })).toBeNull();
  });
});
