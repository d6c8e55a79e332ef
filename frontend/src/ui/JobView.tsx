// One job: every property of the job interface, editable where BITS allows
// it, its files with their own progress, and its error with Resume and
// Cancel. The list's pushed state drives it; the files (which the pushed
// state does not carry) are read again with `info` when the job changes, at
// most as often as changes are pushed.
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  errorHeading,
  etaSeconds,
  formatBytes,
  formatDuration,
  formatRate,
  formatTime,
  percent,
  type RateMeter,
} from '../jobs';
import { allowed, type JobStore } from '../store';
import { asOpError, type OpError, type Transport } from '../transport';
import {
  credentialStep,
  formOf,
  isAbsolutePath,
  notifyBits,
  planEdits,
  validateForm,
  type Credentials,
  type JobExtras,
  type JobForm,
} from '../forms';
import { humanSeconds } from '../settings';
import type { FileInfo, JobInfo, Meta } from '../types';
import { Bar, ErrorText, Field, StateBadge } from './common';

export interface JobViewProps {
  id: string;
  store: JobStore;
  /** the store's version: the view redraws with every pushed change */
  version: number;
  transport: Transport;
  meta: Meta | null;
  meter: RateMeter;
  onClose(): void;
  onCancel(ids: string[]): void;
  toast(text: string, bad?: boolean): void;
}

function headersOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return v.split(/\r?\n/).filter((l) => l.trim());
  return [];
}

export function JobView(p: JobViewProps) {
  const { transport: t, id } = p;
  const pushed = p.store.get(id);
  const [info, setInfo] = useState<JobInfo | null>(null);
  const [extras, setExtras] = useState<JobExtras | null>(null);
  const [loadError, setLoadError] = useState<OpError | null>(null);
  const [gone, setGone] = useState(false);
  const [edits, setEdits] = useState<Partial<JobForm>>({});
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<keyof JobForm, string>>>({});
  const [saving, setSaving] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<OpError | null>(null);
  const inflight = useRef(false);
  const again = useRef(false);

  // info with files: on open, and when the pushed job changes.
  const refresh = async () => {
    if (inflight.current) {
      again.current = true;
      return;
    }
    inflight.current = true;
    try {
      setInfo(await t.call<JobInfo>('info', [id]));
      setLoadError(null);
    } catch (e) {
      const err = asOpError(e);
      if (err.name === 'BG_E_NOT_FOUND') setGone(true);
      else setLoadError(err);
    } finally {
      inflight.current = false;
      if (again.current) {
        again.current = false;
        void refresh();
      }
    }
  };
  // Only an upload-reply job has a reply file; asking others fails (and
  // shows as a failed request in the browser's console).
  const replyJob = (pushed ?? info)?.type === 'UPLOAD_REPLY';
  const loadExtras = async () => {
    const get = async <T,>(op: string, fallback: T): Promise<T> => {
      try {
        return await t.call<T>(op, [id]);
      } catch {
        return fallback; // e.g. getreplyfilename of a download job
      }
    };
    const [h, m, r] = await Promise.all([
      get<unknown>('getcustomheaders', ''),
      get<string>('gethttpmethod', 'GET'),
      replyJob ? get<string>('getreplyfilename', '') : Promise.resolve(''),
    ]);
    setExtras({ customHeaders: headersOf(h), httpMethod: m || 'GET', replyFileName: r || '' });
  };
  useEffect(() => {
    setInfo(null);
    setExtras(null);
    setEdits({});
    setFieldErrors({});
    setGone(false);
    setActionError(null);
    void refresh();
    void loadExtras();
  }, [id]);
  useEffect(() => {
    if (pushed && info && pushed !== info) void refresh();
    if (!pushed && info) setGone(true);
  }, [pushed]);

  // The pushed state is newer than the last info for everything but files.
  const job: JobInfo | null = pushed ? { ...pushed, files: info?.files ?? pushed.files } : info;
  if (gone && !pushed) {
    return (
      <aside class="drawer" aria-label="Job" data-testid="job-view">
        <header class="drawer-head">
          <h2>Job gone</h2>
          <button class="icon" aria-label="Close" onClick={p.onClose}>
            ×
          </button>
        </header>
        <p class="empty">This job was completed or cancelled, so it has left the list.</p>
      </aside>
    );
  }
  if (!job) {
    return (
      <aside class="drawer" aria-label="Job" data-testid="job-view">
        <header class="drawer-head">
          <h2>Loading…</h2>
          <button class="icon" aria-label="Close" onClick={p.onClose}>
            ×
          </button>
        </header>
        <ErrorText error={loadError} />
      </aside>
    );
  }

  const base = extras ? formOf(job, extras) : null;
  const form: JobForm | null = base ? { ...base, ...edits } : null;
  const set = <K extends keyof JobForm>(k: K, v: JobForm[K]) => {
    setEdits((e) => ({ ...e, [k]: v }));
    setFieldErrors((fe) => ({ ...fe, [k]: undefined }));
  };
  const dirty = base && form ? planEdits(id, base, form).length > 0 : false;

  const save = async () => {
    if (!base || !form) return;
    const errs = validateForm(form, p.meta?.limits);
    setFieldErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    setSaving(true);
    const failed: Partial<Record<keyof JobForm, string>> = {};
    for (const step of planEdits(id, base, form)) {
      try {
        await t.call(step.op, step.args);
        setEdits((e) => {
          const n = { ...e };
          delete n[step.field];
          if (step.field === 'notifyProgram') delete n.notifyParameters;
          if (step.field === 'proxyUsage') {
            delete n.proxyList;
            delete n.proxyBypass;
          }
          return n;
        });
      } catch (e) {
        const err = asOpError(e);
        failed[step.field] = `${err.name}: ${err.message}`;
      }
    }
    setFieldErrors(failed);
    setSaving(false);
    await Promise.all([refresh(), loadExtras()]);
    if (Object.keys(failed).length === 0) p.toast('Saved');
  };

  const act = async (op: string) => {
    setBusy(op);
    setActionError(null);
    try {
      await t.call(op, [id]);
    } catch (e) {
      setActionError(asOpError(e));
    } finally {
      setBusy(null);
    }
  };

  const now = Date.now();
  const rate = job.state === 'TRANSFERRING' ? p.meter.rate(job.id, now) : null;
  // The ops table's one-line summaries double as field help.
  const opHelp = (name: string) => {
    const h = p.meta?.ops.find((o) => o.name === name)?.summary;
    return h && h.charAt(0).toUpperCase() + h.slice(1);
  };

  return (
    <aside class="drawer" aria-label={`Job ${job.displayName}`} data-testid="job-view" data-state={job.state}>
      <header class="drawer-head">
        <div>
          <h2 title={job.displayName}>{job.displayName || job.id}</h2>
          <div class="sub">
            <StateBadge state={job.state} /> <code class="id">{job.id}</code>
          </div>
        </div>
        <button class="icon" aria-label="Close" title="Close (Esc)" onClick={p.onClose}>
          ×
        </button>
      </header>

      <div class="drawer-body">
        <div class="toolbar">
          <button disabled={!allowed(p.meta, 'resume', job) || !!busy} onClick={() => act('resume')}>
            Resume
          </button>
          <button disabled={!allowed(p.meta, 'suspend', job) || !!busy} onClick={() => act('suspend')}>
            Suspend
          </button>
          <button class="primary" disabled={!allowed(p.meta, 'complete', job) || !!busy} onClick={() => act('complete')}>
            Complete
          </button>
          <button class="danger" disabled={!allowed(p.meta, 'cancel', job) || !!busy} onClick={() => p.onCancel([id])}>
            Cancel job
          </button>
          <button disabled={!!busy} title={opHelp('takeownership')} onClick={() => act('takeownership')}>
            Take ownership
          </button>
        </div>
        <ErrorText error={actionError} />

        {job.error && (
          <section class={`job-error ${job.state === 'ERROR' ? 'fatal' : 'transient'}`} data-testid="job-error" role="alert">
            <h3>
              {errorHeading(job.state, job.error.name)}: <code>{job.error.name}</code>
            </h3>
            <p class="desc">{job.error.description}</p>
            <dl>
              <dt>Code</dt>
              <dd>
                <code>{job.error.code}</code>
              </dd>
              <dt>Context</dt>
              <dd>{job.error.context}</dd>
              {job.error.protocol && (
                <>
                  <dt>Protocol</dt>
                  <dd>{job.error.protocol}</dd>
                </>
              )}
              {job.error.file && (
                <>
                  <dt>File</dt>
                  <dd>
                    <span class="path" title={job.error.file.remoteName}>
                      {job.error.file.remoteName}
                    </span>
                    <span class="path" title={job.error.file.localName}>
                      → {job.error.file.localName}
                    </span>
                  </dd>
                </>
              )}
              <dt>Errors so far</dt>
              <dd>{job.errorCount}</dd>
            </dl>
            <div class="toolbar">
              <button class="primary" disabled={!allowed(p.meta, 'resume', job) || !!busy} onClick={() => act('resume')}>
                Resume
              </button>
              <button class="danger" disabled={!allowed(p.meta, 'cancel', job) || !!busy} onClick={() => p.onCancel([id])}>
                Cancel
              </button>
            </div>
          </section>
        )}

        <section>
          <h3>Progress</h3>
          <Bar progress={job.progress} state={job.state} />
          <p class="sub">
            {formatBytes(job.progress.bytesTransferred)} of {formatBytes(job.progress.bytesTotal)} {percent(job.progress)} ·{' '}
            {job.progress.filesTransferred}/{job.progress.filesTotal} files
            {rate !== null && ` · ${formatRate(rate)} · ${formatDuration(etaSeconds(job.progress, rate))} left`}
          </p>
        </section>

        <section>
          <h3>Files</h3>
          <Files files={job.files ?? []} />
          {job.type === 'DOWNLOAD' && <AddFile t={t} id={id} onAdded={refresh} />}
        </section>

        <section>
          <h3>Properties</h3>
          <dl class="facts">
            <dt>Type</dt>
            <dd>{job.type === 'DOWNLOAD' ? 'Download' : job.type === 'UPLOAD' ? 'Upload' : 'Upload with reply'}</dd>
            <dt>Owner</dt>
            <dd>{job.owner}</dd>
            <dt>Created</dt>
            <dd>{formatTime(job.times.creationTime)}</dd>
            <dt>Modified</dt>
            <dd>{formatTime(job.times.modificationTime)}</dd>
            <dt>Transferred</dt>
            <dd>{formatTime(job.times.transferCompletionTime)}</dd>
            <dt>Errors</dt>
            <dd>{job.errorCount}</dd>
            {job.type === 'DOWNLOAD' && (
              <>
                <dt>Connections</dt>
                <dd data-testid="connections">
                  {job.connectionsInUse} in use of {job.connections} per file
                </dd>
              </>
            )}
          </dl>
          {!form ? (
            <p class="sub">Loading…</p>
          ) : (
            <form
              class="props"
              data-testid="job-props"
              onSubmit={(e) => {
                e.preventDefault();
                void save();
              }}
            >
              <Field label="Display name" error={fieldErrors.displayName} wide>
                <input name="displayName" value={form.displayName} maxLength={256} onInput={(e) => set('displayName', e.currentTarget.value)} />
              </Field>
              <Field label="Description" error={fieldErrors.description} wide>
                <textarea name="description" rows={2} maxLength={1024} value={form.description} onInput={(e) => set('description', e.currentTarget.value)} />
              </Field>
              <Field label="Priority" help={opHelp('setpriority')} error={fieldErrors.priority}>
                <select name="priority" value={form.priority} onChange={(e) => set('priority', e.currentTarget.value as JobForm['priority'])}>
                  <option value="FOREGROUND">Foreground</option>
                  <option value="HIGH">High</option>
                  <option value="NORMAL">Normal</option>
                  <option value="LOW">Low</option>
                </select>
              </Field>
              <Seconds label="Minimum retry delay" name="minRetryDelay" form={form} set={set} errors={fieldErrors} help={opHelp('setminretrydelay')} />
              <Seconds label="No-progress timeout" name="noProgressTimeout" form={form} set={set} errors={fieldErrors} help={opHelp('setnoprogresstimeout')} />
              <Seconds label="Maximum download time" name="maxDownloadTime" form={form} set={set} errors={fieldErrors} help={opHelp('setmaxdownloadtime')} />

              <fieldset class="wide">
                <legend>Notifications</legend>
                <div class="checks">
                  {notifyBits(p.meta).map((b) => (
                    <label key={b.bit}>
                      <input
                        type="checkbox"
                        checked={(form.notifyFlags & b.bit) !== 0}
                        onChange={(e) => set('notifyFlags', e.currentTarget.checked ? form.notifyFlags | b.bit : form.notifyFlags & ~b.bit)}
                      />{' '}
                      {b.label} <code>0x{b.bit.toString(16)}</code>
                    </label>
                  ))}
                </div>
                <Field label="Notify program" help="Run when the job is transferred or fails: an absolute path, no shell" error={fieldErrors.notifyProgram}>
                  <input name="notifyProgram" value={form.notifyProgram} placeholder="/usr/local/bin/on-done" onInput={(e) => set('notifyProgram', e.currentTarget.value)} />
                </Field>
                <Field label="Parameters" error={fieldErrors.notifyParameters}>
                  <input name="notifyParameters" value={form.notifyParameters} onInput={(e) => set('notifyParameters', e.currentTarget.value)} />
                </Field>
              </fieldset>

              <fieldset class="wide">
                <legend>Network</legend>
                <Field label="Proxy" help={opHelp('setproxysettings')} error={fieldErrors.proxyUsage}>
                  <select name="proxyUsage" value={form.proxyUsage} onChange={(e) => set('proxyUsage', e.currentTarget.value)}>
                    <option value="PRECONFIG">System settings (preconfig)</option>
                    <option value="AUTODETECT">Autodetect</option>
                    <option value="NO_PROXY">No proxy</option>
                    <option value="OVERRIDE">These proxies (override)</option>
                  </select>
                </Field>
                {form.proxyUsage === 'OVERRIDE' && (
                  <>
                    <Field label="Proxy list" error={fieldErrors.proxyList}>
                      <input name="proxyList" value={form.proxyList} placeholder="http://proxy:3128" onInput={(e) => set('proxyList', e.currentTarget.value)} />
                    </Field>
                    <Field label="Bypass list" error={fieldErrors.proxyBypass}>
                      <input name="proxyBypass" value={form.proxyBypass} placeholder="<local> *.example.org" onInput={(e) => set('proxyBypass', e.currentTarget.value)} />
                    </Field>
                  </>
                )}
                <Field label="HTTP method" help={opHelp('sethttpmethod')} error={fieldErrors.httpMethod}>
                  <input name="httpMethod" value={form.httpMethod} onInput={(e) => set('httpMethod', e.currentTarget.value)} />
                </Field>
                <label class="check-field">
                  <input type="checkbox" name="dynamic" checked={form.dynamic} onChange={(e) => set('dynamic', e.currentTarget.checked)} /> Dynamic
                  content <span class="help">{opHelp('setdynamic')}</span>
                  {fieldErrors.dynamic && <span class="field-error">{fieldErrors.dynamic}</span>}
                </label>
                <Field label="Custom headers" help="One “Name: value” a line, sent on every request" error={fieldErrors.customHeaders} wide>
                  <textarea name="customHeaders" rows={2} value={form.customHeaders} onInput={(e) => set('customHeaders', e.currentTarget.value)} />
                </Field>
              </fieldset>

              {job.type === 'UPLOAD_REPLY' && (
                <fieldset class="wide">
                  <legend>Reply</legend>
                  <Field label="Reply file" help={opHelp('setreplyfilename')} error={fieldErrors.replyFileName} wide>
                    <input name="replyFileName" value={form.replyFileName} onInput={(e) => set('replyFileName', e.currentTarget.value)} />
                  </Field>
                </fieldset>
              )}

              <div class="form-actions wide">
                <button type="submit" class="primary" disabled={!dirty || saving} data-testid="save">
                  {saving ? 'Saving…' : 'Save changes'}
                </button>
                <button
                  type="button"
                  disabled={!dirty || saving}
                  onClick={() => {
                    setEdits({});
                    setFieldErrors({});
                  }}
                >
                  Revert
                </button>
              </div>
            </form>
          )}
        </section>

        <section>
          <h3>Credentials</h3>
          <CredentialsForm t={t} id={id} toast={p.toast} />
        </section>
      </div>
    </aside>
  );
}

function Seconds(props: {
  label: string;
  name: 'minRetryDelay' | 'noProgressTimeout' | 'maxDownloadTime';
  form: JobForm;
  set: (k: keyof JobForm, v: string) => void;
  errors: Partial<Record<keyof JobForm, string>>;
  help?: string;
}) {
  const v = props.form[props.name];
  const n = /^\d+$/.test(v.trim()) ? Number(v) : null;
  return (
    <Field label={`${props.label} (seconds)`} help={n !== null ? `${humanSeconds(n)} — ${props.help ?? ''}` : props.help} error={props.errors[props.name]}>
      <input name={props.name} inputMode="numeric" value={v} onInput={(e) => props.set(props.name, e.currentTarget.value)} />
    </Field>
  );
}

function Files({ files }: { files: FileInfo[] }) {
  if (files.length === 0) return <p class="empty small">No files yet. Add one below.</p>;
  return (
    <table class="files" data-testid="files">
      <thead>
        <tr>
          <th>Remote → local</th>
          <th>Progress</th>
        </tr>
      </thead>
      <tbody>
        {files.map((f, i) => (
          <tr key={i}>
            <td>
              <span class="path" title={f.remoteName}>
                {f.remoteName}
              </span>
              <span class="path sub" title={f.localName}>
                → {f.localName}
              </span>
            </td>
            <td class="file-progress">
              <Bar progress={{ bytesTotal: f.bytesTotal, bytesTransferred: f.bytesTransferred, filesTotal: 1, filesTransferred: f.completed ? 1 : 0 }} />
              <span class="sub">
                {formatBytes(f.bytesTransferred)} of {formatBytes(f.bytesTotal)} {f.completed ? '✓' : ''}
              </span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AddFile(props: { t: Transport; id: string; onAdded: () => void }) {
  const [remote, setRemote] = useState('');
  const [local, setLocal] = useState('');
  const [err, setErr] = useState<OpError | null>(null);
  const add = async () => {
    setErr(null);
    try {
      await props.t.call('addfile', [props.id, remote.trim(), local.trim()]);
      setRemote('');
      setLocal('');
      props.onAdded();
    } catch (e) {
      setErr(asOpError(e));
    }
  };
  return (
    <form
      class="add-file"
      onSubmit={(e) => {
        e.preventDefault();
        void add();
      }}
    >
      <input aria-label="Remote URL" placeholder="https://example.org/file.iso" value={remote} onInput={(e) => setRemote(e.currentTarget.value)} />
      <input aria-label="Local path" placeholder="/absolute/path/file.iso" value={local} onInput={(e) => setLocal(e.currentTarget.value)} />
      <button type="submit" disabled={!remote.trim() || !isAbsolutePath(local.trim())}>
        Add file
      </button>
      <ErrorText error={err} />
    </form>
  );
}

function CredentialsForm(props: { t: Transport; id: string; toast: (s: string, bad?: boolean) => void }) {
  const [c, setC] = useState<Credentials>({ target: 'server', scheme: 'basic', user: '', password: '' });
  const [err, setErr] = useState<OpError | null>(null);
  const submit = async (remove: boolean) => {
    setErr(null);
    try {
      if (remove) await props.t.call('removecredentials', [props.id, c.target, c.scheme]);
      else {
        const s = credentialStep(props.id, c);
        await props.t.call(s.op, s.args);
      }
      // The password is write-only: it leaves the page at once.
      setC((x) => ({ ...x, password: '' }));
      props.toast(remove ? 'Credentials removed' : 'Credentials set');
    } catch (e) {
      setErr(asOpError(e));
    }
  };
  return (
    <form
      class="creds"
      autocomplete="off"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(false);
      }}
    >
      <p class="help">The password is stored sealed by the engine and is never shown again.</p>
      <select aria-label="Target" value={c.target} onChange={(e) => setC({ ...c, target: e.currentTarget.value as Credentials['target'] })}>
        <option value="server">Server</option>
        <option value="proxy">Proxy</option>
      </select>
      <select aria-label="Scheme" value={c.scheme} onChange={(e) => setC({ ...c, scheme: e.currentTarget.value as Credentials['scheme'] })}>
        <option value="basic">Basic</option>
        <option value="digest">Digest</option>
        <option value="ntlm">NTLM</option>
        <option value="negotiate">Negotiate</option>
      </select>
      <input aria-label="User name" placeholder="user" autocomplete="off" value={c.user} onInput={(e) => setC({ ...c, user: e.currentTarget.value })} />
      <input
        aria-label="Password"
        type="password"
        placeholder="password"
        autocomplete="new-password"
        value={c.password}
        onInput={(e) => setC({ ...c, password: e.currentTarget.value })}
      />
      <button type="submit" disabled={!c.user}>
        Set
      </button>
      <button type="button" onClick={() => void submit(true)}>
        Remove
      </button>
      <ErrorText error={err} />
    </form>
  );
}
