// Pure logic of the job list: no DOM and no transport, so vitest covers it.
import type { JobPriority, JobProgress, JobState } from './types';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** formatBytes renders a byte count; a negative count is BITS' "size unknown". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v} B`;
  // Three significant digits at most: 1.23 MiB, 12.3 MiB, 123 MiB.
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

/** formatRate renders bytes per second, or '' when there is no rate to show. */
export function formatRate(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null || !Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return '';
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** progressFraction is 0..1, or null when the total is unknown (an indeterminate bar). */
export function progressFraction(p: JobProgress): number | null {
  if (p.bytesTotal < 0) return null;
  if (p.bytesTotal === 0) {
    return p.filesTotal > 0 && p.filesTransferred === p.filesTotal ? 1 : null;
  }
  return Math.min(1, Math.max(0, p.bytesTransferred / p.bytesTotal));
}

/** progressLabel is "transferred of total". */
export function progressLabel(p: JobProgress): string {
  return `${formatBytes(p.bytesTransferred)} of ${formatBytes(p.bytesTotal)}`;
}

/** filesLabel is "n/m" files transferred. */
export function filesLabel(p: JobProgress): string {
  return `${p.filesTransferred}/${p.filesTotal}`;
}

const STATE_LABELS: Record<JobState, string> = {
  QUEUED: 'Queued',
  CONNECTING: 'Connecting',
  TRANSFERRING: 'Transferring',
  SUSPENDED: 'Suspended',
  ERROR: 'Error',
  TRANSIENT_ERROR: 'Retrying',
  TRANSFERRED: 'Transferred',
  ACKNOWLEDGED: 'Completed',
  CANCELLED: 'Cancelled',
};

export function stateLabel(s: JobState): string {
  return STATE_LABELS[s] ?? s;
}

/**
 * errorHeading says why a job with an error waits: a job that its COST_FLAGS
 * hold on a metered network is paused, not failing, and goes on by itself
 * when the network changes.
 */
export function errorHeading(state: JobState, errorName: string): string {
  if (state === 'ERROR') return 'The transfer failed';
  if (errorName === 'BG_E_BLOCKED_BY_COST_TRANSFER_POLICY') return 'Paused: metered network (COST_FLAGS); it goes on when the network allows';
  return 'The transfer will be retried';
}

const PRIORITY_LABELS: Record<JobPriority, string> = {
  FOREGROUND: 'Foreground',
  HIGH: 'High',
  NORMAL: 'Normal',
  LOW: 'Low',
};

export function priorityLabel(p: JobPriority): string {
  return PRIORITY_LABELS[p] ?? p;
}

/** isFinal: ACKNOWLEDGED and CANCELLED jobs leave the list, as they leave `ferry list`. */
export function isFinal(s: JobState): boolean {
  return s === 'ACKNOWLEDGED' || s === 'CANCELLED';
}

interface Sample {
  bytes: number;
  at: number; // ms
  rate: number | null; // bytes/s, smoothed
}

/**
 * RateMeter turns successive byte counts of each job into a smoothed
 * transfer rate. Updates are pushed only on change, so a rate whose last
 * sample is older than staleMs means the transfer stalled: it reads null.
 */
export class RateMeter {
  private samples = new Map<string, Sample>();

  constructor(
    private readonly staleMs = 3000,
    private readonly smoothing = 0.3, // weight of the newest measurement
  ) {}

  /** update records bytes for id at time `at` (ms). */
  update(id: string, bytes: number, at: number): void {
    const prev = this.samples.get(id);
    if (!prev || bytes < prev.bytes) {
      // First sample, or the transfer restarted from a lower offset.
      this.samples.set(id, { bytes, at, rate: null });
      return;
    }
    const dt = at - prev.at;
    if (dt <= 0) {
      prev.bytes = bytes;
      return;
    }
    const now = ((bytes - prev.bytes) * 1000) / dt;
    const rate = prev.rate === null ? now : this.smoothing * now + (1 - this.smoothing) * prev.rate;
    this.samples.set(id, { bytes, at, rate });
  }

  /** rate is the smoothed bytes/s of id at time now (ms), or null if unknown or stalled. */
  rate(id: string, now: number): number | null {
    const s = this.samples.get(id);
    if (!s || s.rate === null || now - s.at > this.staleMs) return null;
    return s.rate;
  }

  forget(id: string): void {
    this.samples.delete(id);
  }
}

/** etaSeconds is the time left at a rate, or null when it cannot be told. */
export function etaSeconds(p: JobProgress, bytesPerSecond: number | null): number | null {
  if (bytesPerSecond === null || !(bytesPerSecond > 0) || p.bytesTotal < 0) return null;
  const left = p.bytesTotal - p.bytesTransferred;
  if (left <= 0) return 0;
  return left / bytesPerSecond;
}

/** formatDuration: 42 → "42 s", 185 → "3 min 5 s", 7300 → "2 h 1 min", 200000 → "2 d 7 h". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** formatTime renders an RFC 3339 time in the local zone, or '—' for null. */
export function formatTime(t: string | null): string {
  if (!t) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toLocaleString();
}

/** percent: "42%" of a job, '' when the total is unknown. */
export function percent(p: JobProgress): string {
  const f = progressFraction(p);
  return f === null ? '' : `${Math.floor(f * 100)}%`;
}
