// The window (and the browser page): header with search and filters, the
// job list, the job view, the dialogs, keyboard shortcuts and drops.
import { Fragment } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { fileUrlToPath, urlsFromDrop } from '../forms';
import { formatRate, stateLabel } from '../jobs';
import { allowed, FILTER_STATES, JobStore, toggleAction, type StateFilter } from '../store';
import { runMany, Sync, type SyncStatus } from '../sync';
import type { OpError, Transport } from '../transport';
import type { JobInfo, Meta, Notice } from '../types';
import { Confirm, ErrorText, Modal, useStore } from './common';
import { JobList, type RowAction } from './JobList';
import { JobView } from './JobView';
import { NewJobDialog, type Prefill } from './NewJob';
import { SettingsPage } from './Settings';
import { UnreadableBanner } from './Unreadable';

interface Toast {
  id: number;
  text: string;
  bad: boolean;
}

type Page = 'jobs' | 'settings';

const SHORTCUTS: [string, string][] = [
  ['n', 'New job'],
  ['/', 'Search'],
  ['↑ ↓', 'Move through the jobs (Shift extends the selection)'],
  ['Enter', 'Open the job'],
  ['Space', 'Suspend or resume the selected jobs'],
  ['Delete', 'Cancel the selected jobs (asks first)'],
  ['Ctrl+A', 'Select every job shown'],
  ['Esc', 'Close, or clear the selection'],
  [',', 'Settings'],
  ['?', 'This list'],
];

function editable(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export function App({ transport }: { transport: Transport }) {
  const store = useMemo(() => new JobStore(), []);
  const version = useStore(store);
  const [status, setStatus] = useState<SyncStatus>('connecting');
  const [engineError, setEngineError] = useState<OpError | null>(null);
  const [meta, setMeta] = useState<Meta | null>(null);
  const [notices, setNotices] = useState<Notice[]>([]);
  const [page, setPage] = useState<Page>(() => (location.hash === '#settings' ? 'settings' : 'jobs'));
  const [openId, setOpenId] = useState<string | null>(null);
  const [newJob, setNewJob] = useState<Prefill | null | false>(false);
  const [confirm, setConfirm] = useState<{ ids: string[] } | null>(null);
  const [help, setHelp] = useState(false);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [dragging, setDragging] = useState(false);
  const [tick, setTick] = useState(0);
  const [search, setSearch] = useState('');
  const searchRef = useRef<HTMLInputElement>(null);

  const sync = useMemo(
    () =>
      new Sync(transport, store, {
        onStatus: (s) => {
          setStatus(s);
          if (s === 'live') setEngineError(null);
        },
        onError: setEngineError,
      }),
    [transport, store],
  );

  const toast = useCallback((text: string, bad = false) => {
    const id = Date.now() + Math.random();
    setToasts((ts) => [...ts.slice(-3), { id, text, bad }]);
    setTimeout(() => setToasts((ts) => ts.filter((x) => x.id !== id)), bad ? 8000 : 4000);
  }, []);

  useEffect(() => {
    sync.start();
    transport.meta().then(setMeta, (e) => toast(`Cannot read the engine's description: ${e.message}`, true));
    transport.onNotice((n) => setNotices((ns) => (ns.some((x) => x.id === n.id) ? ns : [...ns, n])));
    transport.onOpenJob((id) => {
      setPage('jobs');
      setOpenId(id);
    });
    transport.onFileDrop((paths) => {
      if (paths.length) setNewJob({ paths });
    });
    return () => sync.stop();
  }, [sync]);

  // Rates fall to blank when a transfer stalls: redraw the visible rows
  // once a second while anything transfers (the engine is not asked).
  useEffect(() => {
    const iv = setInterval(() => {
      for (const j of store.all()) {
        if (j.state === 'TRANSFERRING') {
          setTick((n) => n + 1);
          return;
        }
      }
    }, 1000);
    return () => clearInterval(iv);
  }, [store]);

  useEffect(() => {
    location.hash = page === 'settings' ? '#settings' : '';
  }, [page]);

  // Search as you type, applied once typing pauses briefly (10,000 jobs).
  useEffect(() => {
    const h = setTimeout(() => store.setFilter(store.filter, search), 80);
    return () => clearTimeout(h);
  }, [search]);

  const act = useCallback(
    async (op: RowAction | 'resume' | 'suspend', ids: string[]) => {
      if (op === 'cancel') {
        setConfirm({ ids });
        return;
      }
      const { ok, failed } = await runMany(transport, op, ids);
      if (failed.length) {
        const f = failed[0].error;
        toast(`${failed.length} of ${ids.length} could not ${op}: ${f.name}: ${f.message}`, true);
      } else if (ids.length > 1) {
        toast(`${ok} jobs: ${op} done`);
      }
    },
    [transport],
  );
  const onRowAction = useCallback((id: string, a: RowAction) => void act(a, [id]), [act]);
  const onOpen = useCallback((id: string) => setOpenId(id), []);

  const cancelNow = async (ids: string[]) => {
    const { ok, failed } = await runMany(transport, 'cancel', ids);
    if (failed.length) toast(`${failed.length} could not be cancelled: ${failed[0].error.message}`, true);
    else toast(ok === 1 ? 'Job cancelled' : `${ok} jobs cancelled`);
  };

  const selected = store.selectedJobs();
  // Read from the store at key time: the keydown handler of the last render
  // can be older than the selection on screen.
  const targets = (): JobInfo[] => {
    const sel = store.selectedJobs();
    if (sel.length) return sel;
    const c = store.anchor ? store.get(store.anchor) : undefined;
    return c ? [c] : [];
  };

  // Keyboard shortcuts; typing in a field is left alone. A layout effect, so
  // the handler with this render's state is in place before it is painted:
  // a key pressed after what it acts on shows must see it.
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const modal = newJob !== false || confirm || help;
      if (modal) return; // the dialog handles its own keys (Esc)
      if (editable(e.target)) {
        if (e.key === 'Escape') (e.target as HTMLElement).blur();
        return;
      }
      if (e.altKey) return;
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key.toLowerCase() === 'a' && page === 'jobs') {
        e.preventDefault();
        store.selectAll();
        return;
      }
      if (mod) return;
      switch (e.key) {
        case 'n':
          e.preventDefault();
          setNewJob(null);
          return;
        case '/':
          e.preventDefault();
          setPage('jobs');
          searchRef.current?.focus();
          searchRef.current?.select();
          return;
        case ',':
          setPage('settings');
          return;
        case '?':
          setHelp(true);
          return;
        case 'Escape':
          if (openId) setOpenId(null);
          else store.clearSelection();
          return;
      }
      if (page !== 'jobs') return;
      switch (e.key) {
        case 'ArrowDown':
        case 'ArrowUp':
        case 'j':
        case 'k': {
          e.preventDefault();
          const next = store.move(store.anchor, e.key === 'ArrowDown' || e.key === 'j' ? 1 : -1);
          if (next) store.select(next, e.shiftKey ? 'range' : 'only');
          if (e.shiftKey && next) store.anchor = next;
          return;
        }
        case 'Home':
        case 'End': {
          e.preventDefault();
          const next = store.view[e.key === 'Home' ? 0 : store.view.length - 1];
          if (next) store.select(next, e.shiftKey ? 'range' : 'only');
          return;
        }
        case 'Enter':
          if (store.anchor) setOpenId(store.anchor);
          return;
        case ' ': {
          e.preventDefault();
          const js = targets();
          const a = toggleAction(js);
          if (a) void act(a, js.filter((j) => allowed(meta, a, j)).map((j) => j.id));
          return;
        }
        case 'Delete': {
          const js = targets();
          if (js.length) setConfirm({ ids: js.map((j) => j.id) });
          return;
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  // Links and files dropped anywhere open the new-job dialog with them.
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const dt = e.dataTransfer;
    if (!dt) return;
    const urls = urlsFromDrop(dt.getData('text/uri-list'), dt.getData('text/plain'));
    // In the window, dropped files arrive with their paths from Wails
    // (onFileDrop); their file:// URLs here would add them twice.
    const paths = transport.kind === 'wails' ? [] : urls.map(fileUrlToPath).filter((p): p is string => !!p);
    const web = urls.filter((u) => !/^file:/i.test(u));
    if (web.length || paths.length) setNewJob({ urls: web, paths });
    else if (dt.files.length && transport.kind === 'http') {
      toast('A browser does not tell the path of a dropped file: type it in the new-job dialog instead.', true);
    }
  };

  const total = store.size;
  let active = 0;
  let transferring = 0;
  let rate = 0;
  const now = Date.now();
  for (const j of store.all()) {
    if (j.state === 'TRANSFERRING' || j.state === 'CONNECTING') active++;
    if (j.state === 'TRANSFERRING') {
      transferring++;
      rate += sync.meter.rate(j.id, now) ?? 0;
    }
  }

  const chips: StateFilter[] = ['ALL', ...FILTER_STATES];
  const defaultFolder = meta?.downloadDir ?? '';

  return (
    <div
      class={`app ${openId ? 'with-drawer' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        if (!dragging) setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.relatedTarget === null) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <header class="top">
        <h1>
          <img class="logo" src="/favicon.svg" alt="" width="22" height="22" />
          Ferry
        </h1>
        <nav class="tabs" aria-label="Pages">
          <button class={page === 'jobs' ? 'on' : ''} aria-current={page === 'jobs'} onClick={() => setPage('jobs')}>
            Jobs
          </button>
          <button class={page === 'settings' ? 'on' : ''} aria-current={page === 'settings'} onClick={() => setPage('settings')} data-testid="settings-tab">
            Settings
          </button>
        </nav>
        <input
          ref={searchRef}
          class="search"
          type="search"
          placeholder="Search jobs  /"
          aria-label="Search jobs by name"
          value={search}
          onInput={(e) => {
            setSearch(e.currentTarget.value);
            setPage('jobs');
          }}
          onKeyDown={(e) => {
            // Esc clears the search and goes back to the list (the browser's
            // own clearing of a search field would bypass our state).
            if (e.key !== 'Escape') return;
            e.preventDefault();
            setSearch('');
            e.currentTarget.blur();
          }}
        />
        <span class="summary" data-testid="summary">
          {total} job{total === 1 ? '' : 's'} · {active} active{transferring ? ` · ${formatRate(rate) || '…'}` : ''}
        </span>
        <span class={`status status-${status}`} title={status === 'live' ? 'Connected to the engine' : status === 'lost' ? 'Reconnecting to the engine…' : 'Connecting…'} />
        <button class="primary" onClick={() => setNewJob(null)} title="New job (n)" data-testid="new-job-button">
          + New job
        </button>
      </header>

      {notices.map((n) => (
        <div class="notice" role="status" key={n.id}>
          {n.text}
          <button class="icon" aria-label="Dismiss" onClick={() => setNotices((ns) => ns.filter((x) => x.id !== n.id))}>
            ×
          </button>
        </div>
      ))}
      <UnreadableBanner transport={transport} live={status === 'live'} />
      {engineError && (
        <div class="notice bad" role="alert" data-testid="engine-error">
          <ErrorText error={engineError} />
          <button onClick={() => void sync.relist()}>Try again</button>
        </div>
      )}
      {status === 'lost' && !engineError && (
        <div class="notice" role="status">
          The connection to the engine dropped; reconnecting…
        </div>
      )}

      {page === 'settings' ? (
        <main class="page">
          <SettingsPage transport={transport} meta={meta} toast={toast} />
        </main>
      ) : (
        <main class="jobs">
          <div class="filters" role="toolbar" aria-label="Filter by state">
            {chips.map((c) => {
              const n = store.count(c);
              if (c !== 'ALL' && n === 0 && store.filter !== c) return null;
              return (
                <button key={c} class={`chip ${store.filter === c ? 'on' : ''}`} aria-pressed={store.filter === c} onClick={() => store.setFilter(c)} data-filter={c}>
                  {c === 'ALL' ? 'All' : stateLabel(c)} <span class="count">{n}</span>
                </button>
              );
            })}
            {selected.length > 0 && (
              <div class="bulk" role="toolbar" aria-label="Selected jobs" data-testid="bulk">
                <b>{selected.length} selected</b>
                <button onClick={() => void act('resume', selected.filter((j) => allowed(meta, 'resume', j)).map((j) => j.id))}>Resume</button>
                <button onClick={() => void act('suspend', selected.filter((j) => allowed(meta, 'suspend', j)).map((j) => j.id))}>Suspend</button>
                <button onClick={() => void act('complete', selected.filter((j) => allowed(meta, 'complete', j)).map((j) => j.id))}>Complete</button>
                <button class="danger" onClick={() => setConfirm({ ids: selected.map((j) => j.id) })}>
                  Cancel
                </button>
                <button class="link" onClick={() => store.clearSelection()}>
                  Clear
                </button>
              </div>
            )}
          </div>
          {status === 'connecting' && total === 0 ? (
            <div class="empty-state">
              <p>Connecting to the engine…</p>
            </div>
          ) : total === 0 ? (
            <div class="empty-state" data-testid="empty">
              <h2>No transfers yet</h2>
              <p>
                Create a job with <b>New job</b> (or press <kbd>n</kbd>), drop links on this window, or run{' '}
                <code>ferry transfer URL PATH</code>.
              </p>
              <button class="primary" onClick={() => setNewJob(null)}>
                + New job
              </button>
            </div>
          ) : store.view.length === 0 ? (
            <div class="empty-state" data-testid="empty-filter">
              <h2>No jobs match</h2>
              <p>
                {store.filter !== 'ALL' && <>State: {stateLabel(store.filter)}. </>}
                {store.search && <>Search: “{store.search}”.</>}
              </p>
              <button
                onClick={() => {
                  setSearch('');
                  store.setFilter('ALL', '');
                }}
              >
                Show all jobs
              </button>
            </div>
          ) : (
            <JobList store={store} meta={meta} version={version} meter={sync.meter} tick={tick} onOpen={onOpen} onAction={onRowAction} />
          )}
        </main>
      )}

      {openId && (
        <JobView
          id={openId}
          store={store}
          version={version}
          transport={transport}
          meta={meta}
          meter={sync.meter}
          onClose={() => setOpenId(null)}
          onCancel={(ids) => setConfirm({ ids })}
          toast={toast}
        />
      )}

      {newJob !== false && (
        <NewJobDialog
          transport={transport}
          defaultFolder={defaultFolder}
          limits={meta?.limits ?? {}}
          prefill={newJob}
          onClose={() => setNewJob(false)}
          onCreated={(j) => {
            setNewJob(false);
            toast(`Created “${j.displayName}”`);
            store.select(j.id);
          }}
        />
      )}
      {confirm && (
        <Confirm
          title={confirm.ids.length === 1 ? 'Cancel this job?' : `Cancel ${confirm.ids.length} jobs?`}
          text="Cancelling deletes the temporary files of the transfer. Files already completed stay where they are."
          action={confirm.ids.length === 1 ? 'Cancel job' : `Cancel ${confirm.ids.length} jobs`}
          onClose={() => setConfirm(null)}
          onConfirm={() => void cancelNow(confirm.ids)}
        />
      )}
      {help && (
        <Modal title="Keyboard shortcuts" onClose={() => setHelp(false)}>
          <dl class="shortcuts">
            {SHORTCUTS.map(([k, d]) => (
              <Fragment key={k}>
                <dt>
                  <kbd>{k}</kbd>
                </dt>
                <dd>{d}</dd>
              </Fragment>
            ))}
          </dl>
          {meta && <p class="help">Ferry {meta.version}</p>}
        </Modal>
      )}
      {dragging && (
        <div class="drop-overlay" aria-hidden="true">
          Drop links or files to create a job
        </div>
      )}
      <div class="toasts" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} class={`toast ${t.bad ? 'bad' : ''}`}>
            {t.text}
          </div>
        ))}
      </div>
    </div>
  );
}
