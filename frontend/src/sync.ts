// Keeps a JobStore in step with the engine: it subscribes first, lists the
// jobs once the stream is live (and again after every reconnect), applies
// the changes that arrived meanwhile after the list, and batches later
// changes into one store update per frame. The UI never polls.
import { RateMeter } from './jobs';
import type { JobStore } from './store';
import type { Subscription, Transport } from './transport';
import { asOpError, type OpError } from './transport';
import type { JobInfo } from './types';

export type SyncStatus = 'connecting' | 'live' | 'lost';

export interface SyncOptions {
  /** schedule runs a flush soon (requestAnimationFrame in the page). */
  schedule?: (cb: () => void) => void;
  now?: () => number;
  onStatus?: (s: SyncStatus) => void;
  onError?: (e: OpError) => void;
}

export class Sync {
  readonly meter = new RateMeter();
  private pending: JobInfo[] = [];
  private buffered: JobInfo[] | null = null; // non-null while a list is in flight
  private scheduled = false;
  private sub: Subscription | null = null;
  private listSeq = 0;
  private readonly schedule: (cb: () => void) => void;
  private readonly now: () => number;

  constructor(
    private readonly t: Transport,
    private readonly store: JobStore,
    private readonly opts: SyncOptions = {},
  ) {
    this.schedule = opts.schedule ?? ((cb) => requestAnimationFrame(() => cb()));
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.opts.onStatus?.('connecting');
    this.sub = this.t.subscribe({
      ready: () => void this.relist(),
      job: (j) => this.push(j),
      lost: (err) => {
        this.opts.onStatus?.('lost');
        if (err) this.opts.onError?.(err);
      },
    });
  }

  stop(): void {
    this.sub?.close();
    this.sub = null;
  }

  private push(j: JobInfo): void {
    this.meter.update(j.id, j.progress.bytesTransferred, this.now());
    if (this.buffered) {
      this.buffered.push(j);
      return;
    }
    this.pending.push(j);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** flush applies the pending changes now. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    this.store.apply(batch);
  }

  /** relist fetches the whole list (the stream is live, so nothing is missed). */
  async relist(): Promise<void> {
    const seq = ++this.listSeq;
    if (!this.buffered) this.buffered = [];
    try {
      const list = (await this.t.call<JobInfo[] | null>('list')) ?? [];
      if (seq !== this.listSeq) return; // a newer relist owns the buffer
      const now = this.now();
      for (const j of list) this.meter.update(j.id, j.progress.bytesTransferred, now);
      const early = this.buffered ?? [];
      this.buffered = null;
      this.store.reset(list);
      this.pending.push(...early);
      this.flush();
      this.opts.onStatus?.('live');
    } catch (e) {
      if (seq !== this.listSeq) return;
      const early = this.buffered ?? [];
      this.buffered = null;
      this.pending.push(...early);
      this.flush();
      this.opts.onError?.(asOpError(e));
    }
  }
}

/** runMany calls op for every id, a few at a time; it resolves to the failures. */
export async function runMany(
  t: Transport,
  op: string,
  ids: string[],
  concurrency = 8,
): Promise<{ ok: number; failed: { id: string; error: OpError }[] }> {
  let next = 0;
  let ok = 0;
  const failed: { id: string; error: OpError }[] = [];
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        await t.call(op, [id]);
        ok++;
      } catch (e) {
        failed.push({ id, error: asOpError(e) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  return { ok, failed };
}
