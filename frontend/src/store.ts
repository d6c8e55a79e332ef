// The job list's state, kept apart from the DOM so that vitest covers it:
// every job by id, the filtered and sorted view of their ids, counts per
// state and the selection. Pushed changes are applied in batches (one per
// animation frame); a batch recomputes the view only when a change can move
// a job in it or out of it, so a thousand progress updates of jobs already
// in place cost a thousand map writes, not a thousand sorts.
import { isFinal, progressFraction } from './jobs';
import type { JobInfo, JobPriority, JobState, Meta } from './types';

export type SortKey = 'default' | 'name' | 'state' | 'priority' | 'progress' | 'created';
export interface Sort {
  key: SortKey;
  desc: boolean;
}

/** Filter chips: all jobs, or one state. */
export type StateFilter = 'ALL' | JobState;

export const FILTER_STATES: JobState[] = [
  'TRANSFERRING',
  'CONNECTING',
  'QUEUED',
  'SUSPENDED',
  'TRANSIENT_ERROR',
  'ERROR',
  'TRANSFERRED',
];

const PRIORITY_RANK: Record<JobPriority, number> = { FOREGROUND: 0, HIGH: 1, NORMAL: 2, LOW: 3 };

// The order of states when sorting by state: what needs attention first.
const STATE_RANK: Record<JobState, number> = {
  ERROR: 0,
  TRANSIENT_ERROR: 1,
  TRANSFERRING: 2,
  CONNECTING: 3,
  QUEUED: 4,
  SUSPENDED: 5,
  TRANSFERRED: 6,
  ACKNOWLEDGED: 7,
  CANCELLED: 8,
};

function cmpText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// timeKeys caches each job object's creation time as [ms since the epoch,
// ns within the ms]: pushed jobs are new objects, so a key never outlives
// its job, and a sort of 10,000 jobs parses each time once.
const timeKeys = new WeakMap<JobInfo, [number, number]>();

/**
 * creationKey parses the engine's RFC 3339 creation time. The engine sends
 * nanoseconds with trailing zeros trimmed (Go's RFC3339Nano), so comparing
 * the strings would put ".1Z" after ".12Z"; Date.parse alone keeps only
 * milliseconds. A missing or bad time sorts as the oldest.
 */
export function creationKey(j: JobInfo): [number, number] {
  let k = timeKeys.get(j);
  if (k) return k;
  const t = j.times.creationTime ?? '';
  const ms = Date.parse(t);
  const frac = /\.(\d+)/.exec(t)?.[1] ?? '';
  k = Number.isNaN(ms) ? [-Infinity, 0] : [ms, Number((frac + '000000000').slice(3, 9))];
  timeKeys.set(j, k);
  return k;
}

/** Seq numbers jobs in the order the engine created them (the order of its list, then of pushes). */
export type Seq = (j: JobInfo) => number;

/**
 * defaultOrder is newest first, as download managers show their lists:
 * by creation time, then (jobs made within one clock tick) by the order
 * the engine created them, then by id, so the order is total and rows
 * never swap at random.
 */
export function defaultOrder(a: JobInfo, b: JobInfo, seq?: Seq): number {
  const ka = creationKey(a);
  const kb = creationKey(b);
  if (ka[0] !== kb[0]) return ka[0] < kb[0] ? 1 : -1;
  if (ka[1] !== kb[1]) return kb[1] - ka[1];
  if (seq) {
    const d = seq(b) - seq(a);
    if (d !== 0) return d;
  }
  return cmpText(a.id, b.id);
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * comparator returns the order of a sort; ties fall back to the default
 * order (newest first, whichever way the column goes).
 */
export function comparator(sort: Sort, seq?: Seq): (a: JobInfo, b: JobInfo) => number {
  const dir = sort.desc ? -1 : 1;
  const primary = (a: JobInfo, b: JobInfo): number => {
    switch (sort.key) {
      case 'name':
        return collator.compare(a.displayName, b.displayName);
      case 'state':
        return STATE_RANK[a.state] - STATE_RANK[b.state];
      case 'priority':
        return (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9);
      case 'progress':
        return (progressFraction(a.progress) ?? -1) - (progressFraction(b.progress) ?? -1);
      case 'created':
        return -defaultOrder(a, b, seq); // oldest first; desc: newest first
      default:
        return 0;
    }
  };
  return (a, b) => {
    const c = primary(a, b);
    return c !== 0 ? c * dir : defaultOrder(a, b, seq) * (sort.key === 'default' ? dir : 1);
  };
}

/** matches tells whether a job passes the filter and the search (name, description or id, any case). */
export function matches(j: JobInfo, filter: StateFilter, search: string): boolean {
  if (filter !== 'ALL' && j.state !== filter) return false;
  const q = search.trim().toLowerCase();
  if (!q) return true;
  return (
    j.displayName.toLowerCase().includes(q) || j.description.toLowerCase().includes(q) || j.id.startsWith(q)
  );
}

/** sortKeyChanged: whether moving from a to b can change b's place under sort. */
function placeChanged(a: JobInfo, b: JobInfo, sort: Sort): boolean {
  switch (sort.key) {
    case 'priority':
      return a.priority !== b.priority;
    case 'name':
      return a.displayName !== b.displayName;
    case 'state':
      return a.state !== b.state;
    case 'progress':
      return progressFraction(a.progress) !== progressFraction(b.progress);
    default:
      return false; // creation time and id never change
  }
}

export class JobStore {
  private jobs = new Map<string, JobInfo>();
  private stateCounts = new Map<JobState, number>();
  /** seq: the order the engine made each job (its list is in creation order; pushes come after). */
  private seq = new Map<string, number>();
  private nextSeq = 0;
  /** view: the ids shown, filtered and sorted. Replaced (never mutated) when it changes. */
  view: string[] = [];
  filter: StateFilter = 'ALL';
  search = '';
  sort: Sort = { key: 'default', desc: false };
  selected = new Set<string>();
  /** anchor: the row a shift-click or shift-arrow extends the selection from. */
  anchor: string | null = null;
  /** version grows with every change, so views can tell whether to redraw. */
  version = 0;
  private listeners = new Set<() => void>();

  get size(): number {
    return this.jobs.size;
  }

  get(id: string): JobInfo | undefined {
    return this.jobs.get(id);
  }

  all(): IterableIterator<JobInfo> {
    return this.jobs.values();
  }

  count(state: StateFilter): number {
    return state === 'ALL' ? this.jobs.size : (this.stateCounts.get(state) ?? 0);
  }

  subscribe(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private changed(): void {
    this.version++;
    this.listeners.forEach((cb) => cb());
  }

  private countState(s: JobState, d: number): void {
    this.stateCounts.set(s, (this.stateCounts.get(s) ?? 0) + d);
  }

  /** reset replaces every job (a fresh list from the engine). */
  reset(list: JobInfo[]): void {
    this.jobs.clear();
    this.stateCounts.clear();
    this.seq.clear();
    for (const j of list) {
      if (isFinal(j.state)) continue;
      this.jobs.set(j.id, j);
      this.seq.set(j.id, this.nextSeq++);
      this.countState(j.state, 1);
    }
    for (const id of this.selected) if (!this.jobs.has(id)) this.selected.delete(id);
    this.recompute();
    this.changed();
  }

  /**
   * apply merges pushed jobs (newest last). It returns whether the view was
   * recomputed; jobs that changed in place keep their rows.
   */
  apply(batch: JobInfo[]): boolean {
    if (batch.length === 0) return false;
    let reorder = false;
    for (const j of batch) {
      const old = this.jobs.get(j.id);
      if (isFinal(j.state)) {
        if (old) {
          this.jobs.delete(j.id);
          this.seq.delete(j.id);
          this.countState(old.state, -1);
          this.selected.delete(j.id);
          reorder = true;
        }
        continue;
      }
      this.jobs.set(j.id, j);
      if (!old) this.seq.set(j.id, this.nextSeq++);
      if (old) this.countState(old.state, -1);
      this.countState(j.state, 1);
      if (
        !old ||
        placeChanged(old, j, this.sort) ||
        matches(old, this.filter, this.search) !== matches(j, this.filter, this.search)
      ) {
        reorder = true;
      }
    }
    if (reorder) this.recompute();
    this.changed();
    return reorder;
  }

  setFilter(filter: StateFilter, search = this.search): void {
    this.filter = filter;
    this.search = search;
    this.recompute();
    this.changed();
  }

  setSort(sort: Sort): void {
    this.sort = sort;
    this.recompute();
    this.changed();
  }

  /**
   * toggleSort: a header click sorts by its column, a second click reverses
   * it, a third goes back to the default order (newest first).
   */
  toggleSort(key: SortKey): void {
    if (this.sort.key !== key) this.setSort({ key, desc: false });
    else if (!this.sort.desc) this.setSort({ key, desc: true });
    else this.setSort({ key: 'default', desc: false });
  }

  private recompute(): void {
    const out: JobInfo[] = [];
    for (const j of this.jobs.values()) if (matches(j, this.filter, this.search)) out.push(j);
    out.sort(comparator(this.sort, (j) => this.seq.get(j.id) ?? 0));
    this.view = out.map((j) => j.id);
  }

  /** select handles a click on a row: plain (only this), toggle (ctrl/cmd) or range (shift). */
  select(id: string, mode: 'only' | 'toggle' | 'range' = 'only'): void {
    if (mode === 'range' && this.anchor && this.view.includes(this.anchor)) {
      const a = this.view.indexOf(this.anchor);
      const b = this.view.indexOf(id);
      const [lo, hi] = a < b ? [a, b] : [b, a];
      this.selected = new Set(this.view.slice(lo, hi + 1));
    } else if (mode === 'toggle') {
      const next = new Set(this.selected);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      this.selected = next;
      this.anchor = id;
    } else {
      this.selected = new Set([id]);
      this.anchor = id;
    }
    this.changed();
  }

  selectAll(): void {
    this.selected = new Set(this.view);
    this.changed();
  }

  clearSelection(): void {
    this.selected = new Set();
    this.anchor = null;
    this.changed();
  }

  /** selectedJobs lists the selected jobs in view order (selected jobs hidden by the filter included last). */
  selectedJobs(): JobInfo[] {
    const inView = this.view.filter((id) => this.selected.has(id));
    const shown = new Set(inView);
    const hidden = [...this.selected].filter((id) => !shown.has(id));
    return [...inView, ...hidden].map((id) => this.jobs.get(id)).filter((j): j is JobInfo => !!j);
  }

  /** move returns the id `by` rows from id in the view (clamped), for arrow keys. */
  move(id: string | null, by: number): string | null {
    if (this.view.length === 0) return null;
    const i = id === null ? -1 : this.view.indexOf(id);
    const next = i < 0 ? (by > 0 ? 0 : this.view.length - 1) : Math.min(this.view.length - 1, Math.max(0, i + by));
    return this.view[next];
  }
}

/**
 * toggleAction is what Space does to a selection: resume when every job in
 * it is suspended, otherwise suspend.
 */
export function toggleAction(jobs: JobInfo[]): 'resume' | 'suspend' | null {
  if (jobs.length === 0) return null;
  return jobs.every((j) => j.state === 'SUSPENDED' || j.state === 'ERROR') ? 'resume' : 'suspend';
}

/**
 * allowed reports whether the engine's declaration of a job method (the
 * operations table's verb, from Meta) says it acts on the job now. Until the
 * description has arrived nothing is offered.
 */
export function allowed(
  meta: Pick<Meta, 'ops'> | null | undefined,
  action: 'resume' | 'suspend' | 'cancel' | 'complete',
  j: Pick<JobInfo, 'type' | 'state' | 'progress'>,
): boolean {
  const v = meta?.ops.find((o) => o.name === action)?.verb;
  if (!v) return false;
  if (v.needsFiles && j.progress.filesTotal === 0) return false;
  return (v.acts[j.type] ?? []).includes(j.state);
}
