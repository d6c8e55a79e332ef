// The job list: a virtualised grid. Only the rows in view (plus a few) are
// in the DOM, positioned inside a spacer as tall as the whole list, so
// 10,000 jobs scroll like 30. Rows are memoised on the job object, which the
// store replaces only for the job that changed.
import { memo } from 'preact/compat';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { etaSeconds, formatBytes, formatDuration, formatRate, percent, priorityLabel } from '../jobs';
import { allowed, type JobStore, type SortKey } from '../store';
import type { RateMeter } from '../jobs';
import type { JobInfo, Meta } from '../types';
import { scrollToShow, visibleWindow } from '../virtual';
import { Bar, StateBadge } from './common';

export const ROW_HEIGHT = 48;

export type RowAction = 'resume' | 'suspend' | 'complete' | 'cancel';

interface RowProps {
  job: JobInfo;
  /** the engine's description: which actions each state allows */
  meta: Meta | null;
  index: number;
  top: number;
  selected: boolean;
  cursor: boolean;
  rate: string;
  eta: string;
  onClick(id: string, e: MouseEvent): void;
  onOpen(id: string): void;
  onToggle(id: string): void;
  onAction(id: string, a: RowAction): void;
}

const JobRow = memo(function JobRow(p: RowProps) {
  const j = p.job;
  const act = (a: RowAction) => (e: Event) => {
    e.stopPropagation();
    p.onAction(j.id, a);
  };
  const bytes =
    j.progress.bytesTotal < 0
      ? `${formatBytes(j.progress.bytesTransferred)} of ?`
      : `${formatBytes(j.progress.bytesTransferred)} of ${formatBytes(j.progress.bytesTotal)}`;
  return (
    <div
      class={`row ${p.selected ? 'selected' : ''} ${p.cursor ? 'cursor' : ''}`}
      role="row"
      aria-rowindex={p.index + 2}
      aria-selected={p.selected}
      data-id={j.id}
      style={{ transform: `translateY(${p.top}px)` }}
      onClick={(e) => p.onClick(j.id, e)}
      onDblClick={() => p.onOpen(j.id)}
    >
      <div class="cell check" role="gridcell">
        <input
          type="checkbox"
          checked={p.selected}
          aria-label={`select ${j.displayName}`}
          onClick={(e) => {
            e.stopPropagation();
            p.onToggle(j.id);
          }}
        />
      </div>
      <div class="cell name" role="gridcell" title={j.description ? `${j.displayName}\n${j.description}` : j.displayName}>
        <button class="link" onClick={(e) => (e.stopPropagation(), p.onOpen(j.id))}>
          {j.displayName || j.id}
        </button>
        <span class="sub">
          {j.type === 'DOWNLOAD' ? '' : j.type === 'UPLOAD' ? 'Upload · ' : 'Upload with reply · '}
          {j.progress.filesTransferred}/{j.progress.filesTotal} files
          {j.error ? ` · ${j.error.name}` : ''}
        </span>
      </div>
      <div class="cell state" role="gridcell">
        <StateBadge state={j.state} />
      </div>
      <div class="cell priority" role="gridcell">
        {priorityLabel(j.priority)}
      </div>
      <div class="cell progress" role="gridcell">
        <Bar progress={j.progress} state={j.state} />
        <span class="sub">
          {bytes} <b>{percent(j.progress)}</b>
        </span>
      </div>
      <div class="cell rate num" role="gridcell">
        {p.rate}
      </div>
      <div class="cell eta num" role="gridcell">
        {p.eta}
      </div>
      <div class="cell actions" role="gridcell">
        {allowed(p.meta, 'resume', j) && (
          <button class="icon" title="Resume" aria-label="Resume" onClick={act('resume')}>
            ▶
          </button>
        )}
        {allowed(p.meta, 'suspend', j) && (
          <button class="icon" title="Suspend" aria-label="Suspend" onClick={act('suspend')}>
            ❚❚
          </button>
        )}
        {allowed(p.meta, 'complete', j) && (
          <button class="icon good" title="Complete: put the files in place" aria-label="Complete" onClick={act('complete')}>
            ✓
          </button>
        )}
        {allowed(p.meta, 'cancel', j) && (
          <button class="icon danger" title="Cancel" aria-label="Cancel" onClick={act('cancel')}>
            ✕
          </button>
        )}
      </div>
    </div>
  );
});

const COLUMNS: { key: SortKey | null; label: string; cls: string }[] = [
  { key: null, label: '', cls: 'check' },
  { key: 'name', label: 'Name', cls: 'name' },
  { key: 'state', label: 'State', cls: 'state' },
  { key: 'priority', label: 'Priority', cls: 'priority' },
  { key: 'progress', label: 'Progress', cls: 'progress' },
  { key: null, label: 'Rate', cls: 'rate num' },
  { key: null, label: 'ETA', cls: 'eta num' },
  { key: null, label: '', cls: 'actions' },
];

export interface JobListProps {
  store: JobStore;
  meta: Meta | null;
  /** version (the store's) and tick (once a second while transferring) make the list redraw. */
  version: number;
  meter: RateMeter;
  tick: number;
  onOpen(id: string): void;
  onAction(id: string, a: RowAction): void;
}

export function JobList(props: JobListProps) {
  const { store } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    setViewport(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Keep the keyboard cursor in view.
  const cursor = store.anchor;
  useEffect(() => {
    const el = scroller.current;
    if (!el || !cursor) return;
    const i = store.view.indexOf(cursor);
    if (i < 0) return;
    const top = scrollToShow(i, ROW_HEIGHT, el.scrollTop, el.clientHeight);
    if (top !== el.scrollTop) el.scrollTop = top;
  }, [cursor]);

  // Stable handlers, so that memoised rows stay untouched.
  const onRowClick = useCallback(
    (id: string, e: MouseEvent) => store.select(id, e.shiftKey ? 'range' : e.ctrlKey || e.metaKey ? 'toggle' : 'only'),
    [store],
  );
  const onToggle = useCallback((id: string) => store.select(id, 'toggle'), [store]);

  const view = store.view;
  const w = visibleWindow(view.length, ROW_HEIGHT, scrollTop, viewport);
  const now = Date.now();
  const rows = [];
  for (let i = w.start; i < w.end; i++) {
    const j = store.get(view[i]);
    if (!j) continue;
    const rate = j.state === 'TRANSFERRING' ? props.meter.rate(j.id, now) : null;
    rows.push(
      <JobRow
        key={j.id}
        job={j}
        meta={props.meta}
        index={i}
        top={i * ROW_HEIGHT}
        selected={store.selected.has(j.id)}
        cursor={cursor === j.id}
        rate={formatRate(rate)}
        eta={formatDuration(etaSeconds(j.progress, rate))}
        onClick={onRowClick}
        onOpen={props.onOpen}
        onToggle={onToggle}
        onAction={props.onAction}
      />,
    );
  }


  const allSelected = view.length > 0 && store.selected.size >= view.length && view.every((id) => store.selected.has(id));
  return (
    <div class="list" role="grid" aria-rowcount={view.length + 1} aria-multiselectable="true" data-testid="job-list">
      <div class="row head" role="row" aria-rowindex={1}>
        {COLUMNS.map((c) =>
          c.cls === 'check' ? (
            <div class="cell check" role="columnheader" key="check">
              <input
                type="checkbox"
                aria-label="select all"
                checked={allSelected}
                onClick={() => (allSelected ? store.clearSelection() : store.selectAll())}
              />
            </div>
          ) : (
            <div
              class={`cell ${c.cls} ${c.key ? 'sortable' : ''}`}
              role="columnheader"
              key={c.label || c.cls}
              aria-sort={
                c.key && store.sort.key === c.key ? (store.sort.desc ? 'descending' : 'ascending') : undefined
              }
              onClick={c.key ? () => store.toggleSort(c.key!) : undefined}
            >
              {c.label}
              {c.key && store.sort.key === c.key ? (store.sort.desc ? ' ↓' : ' ↑') : ''}
            </div>
          ),
        )}
      </div>
      <div class="scroller" ref={scroller} onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}>
        <div class="spacer" style={{ height: `${w.total}px` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
