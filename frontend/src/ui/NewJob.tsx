// The new-job dialog: download (many URL → path pairs), upload or upload
// with reply; rows typed, pasted as a list or dropped; a folder picker in
// the window, a plain path field in the browser. Creating runs the ops of
// planNewJob; if one fails, the half-made job is cancelled (all or none).
import { useEffect, useState } from 'preact/hooks';
import {
  basename,
  bindJob,
  fileNameFromUrl,
  isAbsolutePath,
  parseList,
  planNewJob,
  uniqueLocal,
  validateNewJob,
  defaultJobName,
  type NewJob,
} from '../forms';
import { asOpError, type OpError, type Transport } from '../transport';
import type { JobInfo, JobPriority, JobType, Limits } from '../types';
import { ErrorText, Field, Modal } from './common';

/** A row of the dialog; auto rows name their local file after the URL and follow the folder. */
export interface Row {
  remote: string;
  local: string;
  auto: boolean;
}

export interface Prefill {
  urls?: string[];
  /** local files dropped on the window: upload sources, or download sources (copies) */
  paths?: string[];
}

const FOLDER_KEY = 'ferry.folder';

export function lastFolder(fallback: string): string {
  try {
    return localStorage.getItem(FOLDER_KEY) || fallback;
  } catch {
    return fallback;
  }
}

/** autoLocals names every auto row's file in folder, keeping the names unique. */
export function autoLocals(rows: Row[], folder: string): Row[] {
  const taken = new Set(rows.filter((r) => !r.auto && r.local).map((r) => r.local));
  return rows.map((r) => {
    if (!r.auto) return r;
    if (!r.remote.trim() || !folder) return { ...r, local: '' };
    const local = uniqueLocal(folder, fileNameFromUrl(r.remote.trim()), taken);
    taken.add(local);
    return { ...r, local };
  });
}

export function NewJobDialog(props: {
  transport: Transport;
  defaultFolder: string;
  /** the engine's limits (Meta.limits); {} until they are known */
  limits: Limits;
  prefill: Prefill | null;
  onClose(): void;
  onCreated(job: JobInfo): void;
}) {
  const t = props.transport;
  const [type, setType] = useState<JobType>('DOWNLOAD');
  const [name, setName] = useState('');
  const [priority, setPriority] = useState<JobPriority>('NORMAL');
  const [folder, setFolder] = useState(() => lastFolder(props.defaultFolder));
  const [rows, setRows] = useState<Row[]>([{ remote: '', local: '', auto: true }]);
  const [replyFile, setReplyFile] = useState('');
  const [start, setStart] = useState(true);
  const [paste, setPaste] = useState<string | null>(null);
  const [pasteErrors, setPasteErrors] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<OpError | null>(null);
  const [creating, setCreating] = useState(false);

  // Dropped links and files join the rows (into the open dialog too).
  useEffect(() => {
    const pf = props.prefill;
    if (!pf) return;
    if (pf.paths?.length && type !== 'DOWNLOAD') {
      setRows([{ remote: rows[0]?.remote ?? '', local: pf.paths[0], auto: false }]);
      return;
    }
    const add: Row[] = [...(pf.urls ?? []), ...(pf.paths ?? [])].map((remote) => ({ remote, local: '', auto: true }));
    if (add.length) setRows((rs) => autoLocals([...rs.filter((r) => r.remote.trim() || r.local.trim()), ...add], folder));
  }, [props.prefill]);

  const job: NewJob = {
    type,
    name,
    priority,
    pairs: rows.map((r) => ({ remote: r.remote, local: r.local })),
    replyFile,
    start,
  };

  const setRow = (i: number, r: Partial<Row>) => setRows((rs) => autoLocals(rs.map((x, k) => (k === i ? { ...x, ...r } : x)), folder));
  const changeFolder = (f: string) => {
    setFolder(f);
    setRows((rs) => autoLocals(rs, f));
  };
  const pick = async () => {
    const d = await t.pickDirectory?.('Save downloads in');
    if (d) changeFolder(d);
  };
  const pickFile = async () => {
    const f = await t.pickFile?.('File to upload');
    if (f) setRows([{ ...rows[0], local: f, auto: false }]);
  };
  const applyPaste = () => {
    const { pairs, errors: errs } = parseList(paste ?? '', folder, new Set(rows.map((r) => r.local).filter(Boolean)));
    setPasteErrors(errs);
    if (pairs.length) {
      const kept = rows.filter((r) => r.remote.trim() || r.local.trim());
      setRows([...kept, ...pairs.map((p) => ({ remote: p.remote, local: p.local, auto: false }))]);
    }
    if (!errs.length) setPaste(null);
  };
  const switchType = (ty: JobType) => {
    setType(ty);
    setErrors({});
    if (ty !== 'DOWNLOAD') setRows((rs) => [{ remote: rs[0]?.remote ?? '', local: rs[0]?.auto ? '' : (rs[0]?.local ?? ''), auto: false }]);
    else setRows((rs) => autoLocals(rs.map((r) => ({ ...r, auto: !r.local })), folder));
  };

  const create = async () => {
    const errs = validateNewJob(job, props.limits);
    setErrors(errs);
    setFailure(null);
    if (Object.keys(errs).length) return;
    setCreating(true);
    const plan = planNewJob(job);
    let created: JobInfo | null = null;
    try {
      created = await t.call<JobInfo>(plan.create.op, plan.create.args, plan.create.flags);
      for (const s of plan.steps) {
        const b = bindJob(s, created.id);
        await t.call(b.op, b.args, b.flags);
      }
      try {
        if (type === 'DOWNLOAD' && folder) localStorage.setItem(FOLDER_KEY, folder);
      } catch {
        // private mode: no memory of the folder
      }
      props.onCreated(created);
    } catch (e) {
      setFailure(asOpError(e));
      if (created) await t.call('cancel', [created.id]).catch(() => undefined); // all or none
    } finally {
      setCreating(false);
    }
  };

  const download = type === 'DOWNLOAD';
  return (
    <Modal
      title="New job"
      wide
      onClose={props.onClose}
      testid="new-job"
      footer={
        <>
          <label class="check-field">
            <input type="checkbox" name="start" checked={start} onChange={(e) => setStart(e.currentTarget.checked)} /> Start at once
          </label>
          <span class="spacer" />
          <button onClick={props.onClose}>Cancel</button>
          <button class="primary" disabled={creating} onClick={() => void create()} data-testid="create">
            {creating ? 'Creating…' : 'Create job'}
          </button>
        </>
      }
    >
      <form
        class="new-job"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <div class="segmented wide" role="radiogroup" aria-label="Job type">
          {(
            [
              ['DOWNLOAD', 'Download'],
              ['UPLOAD', 'Upload'],
              ['UPLOAD_REPLY', 'Upload with reply'],
            ] as const
          ).map(([v, l]) => (
            <button type="button" key={v} role="radio" aria-checked={type === v} class={type === v ? 'on' : ''} onClick={() => switchType(v)}>
              {l}
            </button>
          ))}
        </div>
        <Field label="Name" help="Optional: defaults to the first file's name" error={errors.name}>
          <input name="name" value={name} placeholder={defaultJobName(job)} maxLength={256} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Priority" help="Foreground transfers at once; the others take turns in the background">
          <select name="priority" value={priority} onChange={(e) => setPriority(e.currentTarget.value as JobPriority)}>
            <option value="FOREGROUND">Foreground</option>
            <option value="HIGH">High</option>
            <option value="NORMAL">Normal</option>
            <option value="LOW">Low</option>
          </select>
        </Field>

        {download ? (
          <>
            <Field label="Save in folder" help={t.pickDirectory ? undefined : 'A folder on the machine that runs the engine'} wide>
              <div class="with-button">
                <input name="folder" value={folder} placeholder="/home/you/Downloads" onInput={(e) => changeFolder(e.currentTarget.value)} />
                {t.pickDirectory && (
                  <button type="button" onClick={() => void pick()}>
                    Browse…
                  </button>
                )}
              </div>
            </Field>
            <div class="pairs wide" data-testid="pairs">
              <div class="pairs-head">
                <span>Remote URL</span>
                <span>Local file</span>
              </div>
              {rows.map((r, i) => (
                <div class="pair" key={i}>
                  <input
                    name={`remote${i}`}
                    autofocus={i === 0}
                    aria-label={`URL ${i + 1}`}
                    class={errors[`remote${i}`] ? 'invalid' : ''}
                    title={errors[`remote${i}`]}
                    placeholder="https://example.org/file.iso"
                    value={r.remote}
                    onInput={(e) => setRow(i, { remote: e.currentTarget.value })}
                  />
                  <input
                    name={`local${i}`}
                    aria-label={`Local file ${i + 1}`}
                    class={`${errors[`local${i}`] ? 'invalid' : ''} ${r.auto ? 'auto' : ''}`}
                    title={errors[`local${i}`] ?? (r.auto ? 'named after the URL; type to choose another path' : '')}
                    placeholder={folder ? `${folder}/…` : '/absolute/path'}
                    value={r.local}
                    onInput={(e) => setRow(i, { local: e.currentTarget.value, auto: e.currentTarget.value === '' })}
                  />
                  <button type="button" class="icon" aria-label={`Remove row ${i + 1}`} disabled={rows.length === 1} onClick={() => setRows(rows.filter((_, k) => k !== i))}>
                    ×
                  </button>
                  {(errors[`remote${i}`] || errors[`local${i}`]) && (
                    <span class="field-error row-error">{errors[`remote${i}`] ?? errors[`local${i}`]}</span>
                  )}
                </div>
              ))}
              <div class="toolbar">
                <button type="button" onClick={() => setRows([...rows, { remote: '', local: '', auto: true }])}>
                  Add a file
                </button>
                <button type="button" onClick={() => setPaste(paste === null ? '' : null)} aria-expanded={paste !== null}>
                  Paste a list…
                </button>
                <span class="help">or drop links and files on the window</span>
              </div>
              {paste !== null && (
                <div class="paste">
                  <textarea
                    aria-label="List of URLs"
                    rows={5}
                    placeholder={'One a line: URL, or URL and local path\nhttps://example.org/a.iso\nhttps://example.org/b.iso /data/b.iso'}
                    value={paste}
                    onInput={(e) => setPaste(e.currentTarget.value)}
                  />
                  <button type="button" onClick={applyPaste}>
                    Add these
                  </button>
                  {pasteErrors.map((e) => (
                    <span class="field-error" key={e}>
                      {e}
                    </span>
                  ))}
                </div>
              )}
            </div>
          </>
        ) : (
          <>
            <Field label="Server URL" help="A server of the BITS upload protocol (ferry serve-uploads, IIS)" error={errors.remote0} wide>
              <input name="remote0" autofocus value={rows[0]?.remote ?? ''} placeholder="https://uploads.example.org/incoming/report.pdf" onInput={(e) => setRows([{ ...rows[0], remote: e.currentTarget.value, auto: false }])} />
            </Field>
            <Field label="File to upload" error={errors.local0} wide>
              <div class="with-button">
                <input
                  name="local0"
                  value={rows[0]?.local ?? ''}
                  placeholder="/home/you/report.pdf"
                  onInput={(e) => setRows([{ ...rows[0], local: e.currentTarget.value, auto: false }])}
                />
                {t.pickFile && (
                  <button type="button" onClick={() => void pickFile()}>
                    Browse…
                  </button>
                )}
              </div>
            </Field>
            {type === 'UPLOAD_REPLY' && (
              <Field label="Save the reply in" help="Optional: an absolute path; the engine picks one otherwise" error={errors.replyFile} wide>
                <input
                  name="replyFile"
                  value={replyFile}
                  placeholder={rows[0]?.local && isAbsolutePath(rows[0].local) ? `${rows[0].local}.reply` : ''}
                  onInput={(e) => setReplyFile(e.currentTarget.value)}
                />
              </Field>
            )}
            {rows[0]?.local && <p class="help wide">Uploading {basename(rows[0].local)}</p>}
          </>
        )}
        {errors[''] && <p class="field-error wide">{errors['']}</p>}
        <div class="wide">
          <ErrorText error={failure} />
        </div>
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}
