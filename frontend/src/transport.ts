// The one seam between the UI and the engine. The desktop window talks to the
// Wails-bound App; the browser UI (`ferry web`) will add an HTTP transport
// with the same interface, and nothing else in the UI may know which is used.
import type { JobInfo } from './types';

export interface Transport {
  /** listJobs returns the caller's jobs (it fails if the engine could not start). */
  listJobs(): Promise<JobInfo[]>;
  /** onJob calls cb with each pushed job change; it returns a func that unsubscribes. */
  onJob(cb: (job: JobInfo) => void): () => void;
}

// What Wails injects into the page: the bound Go methods and its runtime.
// Typed by hand, because wailsjs' generated models type Go enums that
// marshal as text (state, priority) as numbers.
interface WailsWindow {
  go?: { main?: { App?: { ListJobs(): Promise<JobInfo[] | null> } } };
  runtime?: { EventsOn(name: string, cb: (...data: unknown[]) => void): () => void };
}

/** wailsTransport talks to main.App; null when the page does not run inside Wails. */
export function wailsTransport(w: WailsWindow = window as unknown as WailsWindow): Transport | null {
  const app = w.go?.main?.App;
  const rt = w.runtime;
  if (!app || !rt) return null;
  return {
    listJobs: async () => (await app.ListJobs()) ?? [],
    onJob: (cb) => rt.EventsOn('job', (job) => cb(job as JobInfo)),
  };
}

/** pickTransport returns the transport of the environment the page runs in. */
export function pickTransport(): Transport {
  const t = wailsTransport();
  if (!t) throw new Error('not running inside the Ferry desktop app (the browser UI is not built yet)');
  return t;
}
