// The job list window: a snapshot at load, then pushed changes. It never polls
// the engine; the one timer only lets transfer rates go blank when they stall.
import './style.css';
import {
  RateMeter,
  filesLabel,
  formatRate,
  mergeJob,
  priorityLabel,
  progressFraction,
  progressLabel,
  sortJobs,
  stateLabel,
} from './jobs';
import { pickTransport } from './transport';
import type { JobInfo } from './types';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const table = $<HTMLTableElement>('#jobs');
const tbody = table.tBodies[0];
const empty = $<HTMLParagraphElement>('#empty');
const errorBox = $<HTMLParagraphElement>('#error');
const summary = $<HTMLSpanElement>('#summary');

let jobs: JobInfo[] = [];
let loaded = false;
const meter = new RateMeter();
const rows = new Map<string, Row>();

interface Row {
  tr: HTMLTableRowElement;
  name: HTMLTableCellElement;
  state: HTMLTableCellElement;
  priority: HTMLTableCellElement;
  bar: HTMLProgressElement;
  bytes: HTMLSpanElement;
  rate: HTMLSpanElement;
  files: HTMLTableCellElement;
}

function newRow(): Row {
  const tr = document.createElement('tr');
  const cell = (cls = '') => {
    const td = tr.insertCell();
    if (cls) td.className = cls;
    return td;
  };
  const name = cell('name');
  const state = cell();
  const priority = cell();
  const progress = cell('progress');
  const bar = document.createElement('progress');
  bar.max = 1;
  const bytes = document.createElement('span');
  const rate = document.createElement('span');
  rate.className = 'muted';
  const line = document.createElement('div');
  line.className = 'bytes';
  line.append(bytes, rate);
  progress.append(bar, line);
  const files = cell('num');
  return { tr, name, state, priority, bar, bytes, rate, files };
}

// setText avoids touching the DOM when nothing changed (most cells, most updates).
function setText(el: HTMLElement, text: string) {
  if (el.textContent !== text) el.textContent = text;
}

function fillRow(r: Row, j: JobInfo, now: number) {
  setText(r.name, j.displayName || j.id);
  r.name.title = j.description ? `${j.id}\n${j.description}` : j.id;
  setText(r.state, stateLabel(j.state));
  r.state.className = `state state-${j.state.toLowerCase()}`;
  r.state.title = j.error ? `${j.error.name} (${j.error.code}): ${j.error.description}` : '';
  setText(r.priority, priorityLabel(j.priority));
  const f = progressFraction(j.progress);
  if (f === null) r.bar.removeAttribute('value'); // indeterminate
  else r.bar.value = f;
  setText(r.bytes, progressLabel(j.progress));
  setText(r.rate, j.state === 'TRANSFERRING' ? formatRate(meter.rate(j.id, now)) : '');
  setText(r.files, filesLabel(j.progress));
}

let frame = 0;
function scheduleRender() {
  if (!frame) frame = requestAnimationFrame(render);
}

function render() {
  frame = 0;
  if (!loaded) return;
  const now = Date.now();
  const sorted = sortJobs(jobs);
  const seen = new Set<string>();
  sorted.forEach((j, i) => {
    let r = rows.get(j.id);
    if (!r) {
      r = newRow();
      rows.set(j.id, r);
    }
    fillRow(r, j, now);
    // Keyed update: move a row only when its position changed.
    if (tbody.rows[i] !== r.tr) tbody.insertBefore(r.tr, tbody.rows[i] ?? null);
    seen.add(j.id);
  });
  for (const [id, r] of rows) {
    if (!seen.has(id)) {
      r.tr.remove();
      rows.delete(id);
      meter.forget(id);
    }
  }
  table.hidden = sorted.length === 0;
  empty.hidden = sorted.length !== 0;
  const active = sorted.filter((j) => j.state === 'TRANSFERRING' || j.state === 'CONNECTING').length;
  setText(summary, sorted.length ? `${sorted.length} job${sorted.length === 1 ? '' : 's'}, ${active} active` : '');
}

function apply(job: JobInfo) {
  meter.update(job.id, job.progress.bytesTransferred, Date.now());
  jobs = mergeJob(jobs, job);
  scheduleRender();
}

function fail(what: string, err: unknown) {
  errorBox.textContent = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  errorBox.hidden = false;
}

function start() {
  let transport;
  try {
    transport = pickTransport();
  } catch (err) {
    fail('Ferry cannot show jobs', err);
    return;
  }
  // Subscribe before listing so that no change falls between the two; changes
  // that arrive before the list are applied after it, in order.
  const early: JobInfo[] = [];
  transport.onJob((job) => (loaded ? apply(job) : early.push(job)));
  transport.listJobs().then(
    (list) => {
      const now = Date.now();
      for (const j of list) meter.update(j.id, j.progress.bytesTransferred, now);
      jobs = list;
      loaded = true;
      early.splice(0).forEach(apply);
      scheduleRender();
    },
    (err) => fail('The engine did not start', err),
  );
  setInterval(() => {
    if (jobs.some((j) => j.state === 'TRANSFERRING')) scheduleRender();
  }, 1000);
}

start();
