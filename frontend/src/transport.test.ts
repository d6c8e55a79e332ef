import { describe, expect, it } from 'vitest';
import { wailsTransport } from './transport';
import type { JobInfo } from './types';

describe('wailsTransport', () => {
  it('is null outside Wails', () => {
    expect(wailsTransport({})).toBeNull();
  });

  it('lists through main.App and subscribes to the "job" event', async () => {
    const handlers = new Map<string, (...d: unknown[]) => void>();
    const t = wailsTransport({
      go: { main: { App: { ListJobs: async () => null } } },
      runtime: {
        EventsOn: (name, cb) => {
          handlers.set(name, cb);
          return () => handlers.delete(name);
        },
      },
    });
    expect(t).not.toBeNull();
    expect(await t!.listJobs()).toEqual([]); // Go's nil slice arrives as null
    const got: JobInfo[] = [];
    const off = t!.onJob((j) => got.push(j));
    handlers.get('job')!({ id: 'a' });
    expect(got.map((j) => j.id)).toEqual(['a']);
    off();
    expect(handlers.has('job')).toBe(false);
  });
});
