// The new-job dialog's and the job view's logic, without the DOM: reading
// pasted lists, naming local files, validating, and turning a form into the
// operations of the ops table that carry it out.
import type { JobInfo, JobPriority, JobType, Limits, Meta } from './types';

export interface Pair {
  remote: string;
  local: string;
}

/** A planned call of the ops table; JOB stands for the job's id until it exists. */
export interface Step {
  op: string;
  args: string[];
  flags?: Record<string, string>;
}

export const JOB = '\u0000job';

/** isAbsolutePath accepts unix paths and Windows drive or UNC paths. */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

function separator(dir: string): string {
  return dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
}

/** joinPath joins a folder and a file name with the folder's own separator. */
export function joinPath(dir: string, name: string): string {
  const sep = separator(dir);
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

/** dirname is the folder of a path ('' if there is none). */
export function dirname(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  if (i < 0) return '';
  return i === 0 ? p.slice(0, 1) : p.slice(0, i);
}

/** basename is the last element of a path. */
export function basename(p: string): string {
  return p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
}

/** isRemote: a URL Ferry can download (http, https, file) or an absolute path (a local source). */
export function isRemote(s: string): boolean {
  return /^(https?|file):\/\/\S+$/i.test(s) || isAbsolutePath(s);
}

/**
 * fileNameFromUrl names the local file of a download after the URL's last
 * path element (decoded; characters no file system takes are replaced), or
 * "download" when it has none.
 */
export function fileNameFromUrl(remote: string): string {
  let path = remote;
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) path = new URL(remote).pathname;
  } catch {
    // not a URL after all: use it as written
  }
  let name = basename(path.replace(/[?#].*$/, '').replace(/[/\\]+$/, ''));
  try {
    name = decodeURIComponent(name);
  } catch {
    // a stray % stays as it is
  }
  name = name.replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_').trim();
  if (name === '' || name === '.' || name === '..') return 'download';
  return name;
}

/**
 * uniqueLocal returns a path under dir for name that is not in taken,
 * adding " (2)", " (3)", … before the extension as file managers do.
 */
export function uniqueLocal(dir: string, name: string, taken: Set<string>): string {
  let p = joinPath(dir, name);
  if (!taken.has(p)) return p;
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 2; ; n++) {
    p = joinPath(dir, `${stem} (${n})${ext}`);
    if (!taken.has(p)) return p;
  }
}

/** splitFields splits a line on blanks; double quotes group a field with blanks. */
export function splitFields(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2]);
  return out;
}

export interface ParsedList {
  pairs: Pair[];
  errors: string[];
}

/**
 * parseList reads a pasted list: one "REMOTE [LOCAL]" a line (addfileset's
 * format, without the hash), blank lines and #comments skipped. A line with
 * a URL alone downloads into dir under the URL's file name.
 */
export function parseList(text: string, dir: string, taken: Set<string> = new Set()): ParsedList {
  const pairs: Pair[] = [];
  const errors: string[] = [];
  const used = new Set(taken);
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = splitFields(line);
    const n = i + 1;
    if (!isRemote(f[0])) {
      errors.push(`line ${n}: "${f[0]}" is not an http(s) or file URL`);
      return;
    }
    let local = f[1];
    if (f.length > 3) {
      errors.push(`line ${n}: want REMOTE [LOCAL], got ${f.length} fields`);
      return;
    }
    if (local === undefined) {
      if (!dir) {
        errors.push(`line ${n}: choose a folder first, or write the local path after the URL`);
        return;
      }
      local = uniqueLocal(dir, fileNameFromUrl(f[0]), used);
    } else if (!isAbsolutePath(local)) {
      if (!dir) {
        errors.push(`line ${n}: the local path "${local}" is not absolute`);
        return;
      }
      local = joinPath(dir, local);
    }
    used.add(local);
    pairs.push({ remote: f[0], local });
  });
  return { pairs, errors };
}

/** urlsFromDrop picks the URLs out of a drop's text/uri-list or text/plain. */
export function urlsFromDrop(uriList: string, plain: string): string[] {
  const lines = (uriList || plain)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return lines.filter((l) => /^(https?|file):\/\//i.test(l));
}

/** fileUrlToPath turns a file:// URL from a drop into a local path. */
export function fileUrlToPath(u: string): string | null {
  if (!/^file:\/\//i.test(u)) return null;
  try {
    const url = new URL(u);
    const p = decodeURIComponent(url.pathname);
    return /^\/[A-Za-z]:\//.test(p) ? p.slice(1) : p;
  } catch {
    return null;
  }
}

export interface NewJob {
  type: JobType;
  name: string;
  priority: JobPriority;
  pairs: Pair[];
  /** upload-reply: where the server's reply goes ('' = the engine's default) */
  replyFile: string;
  start: boolean;
}

/** tooLong says "at most N characters" when text is over the engine's limit for key (none known: no check). */
export function tooLong(limits: Limits, key: string, text: string): string | undefined {
  const max = limits[key];
  return max !== undefined && text.length > max ? `at most ${max.toLocaleString('en-US')} characters` : undefined;
}

function setIf<T extends string>(errs: Partial<Record<T, string>>, key: T, msg: string | undefined): void {
  if (msg) errs[key] = msg;
}

/**
 * validateNewJob returns what is wrong with the form, by field ('' keys the
 * form). limits are the engine's (Meta.limits); the engine has the last word.
 */
export function validateNewJob(j: NewJob, limits: Limits = {}): Record<string, string> {
  const errs: Record<string, string> = {};
  setIf(errs, 'name', tooLong(limits, 'displayName', j.name));
  const pairs = j.pairs.filter((p) => p.remote.trim() || p.local.trim());
  if (pairs.length === 0) errs[''] = j.type === 'DOWNLOAD' ? 'add at least one file' : 'name the file to upload';
  if (j.type !== 'DOWNLOAD' && pairs.length > 1) errs[''] = 'an upload job has exactly one file';
  const seen = new Set<string>();
  pairs.forEach((p, i) => {
    const r = p.remote.trim();
    const l = p.local.trim();
    if (j.type === 'DOWNLOAD') {
      if (!isRemote(r)) errs[`remote${i}`] = 'an http://, https:// or file:// URL, or an absolute path';
    } else if (!/^https?:\/\/\S+$/i.test(r)) {
      errs[`remote${i}`] = 'the server URL (http:// or https://)';
    }
    if (!isAbsolutePath(l)) errs[`local${i}`] = 'an absolute path';
    else if (j.type === 'DOWNLOAD' && seen.has(l)) errs[`local${i}`] = 'two files cannot go to the same path';
    seen.add(l);
  });
  if (j.type === 'UPLOAD_REPLY' && j.replyFile.trim() && !isAbsolutePath(j.replyFile.trim())) {
    errs.replyFile = 'an absolute path';
  }
  return errs;
}

/** defaultJobName names a job after its first file when the user gave no name. */
export function defaultJobName(j: NewJob): string {
  if (j.name.trim()) return j.name.trim();
  const first = j.pairs.find((p) => p.remote.trim());
  if (!first) return 'ferry job';
  const name = j.type === 'DOWNLOAD' ? fileNameFromUrl(first.remote.trim()) : basename(first.local.trim());
  const more = j.pairs.filter((p) => p.remote.trim()).length - 1;
  return more > 0 ? `${name} and ${more} more` : name;
}

/** planNewJob is the calls that make the job: create (the id), then each step with JOB in its args. */
export function planNewJob(j: NewJob): { create: Step; steps: Step[] } {
  const flag = j.type === 'UPLOAD' ? 'upload' : j.type === 'UPLOAD_REPLY' ? 'upload-reply' : 'download';
  const create: Step = { op: 'create', args: [defaultJobName(j)], flags: { [flag]: 'true' } };
  const steps: Step[] = [];
  if (j.priority !== 'NORMAL') steps.push({ op: 'setpriority', args: [JOB, j.priority.toLowerCase()] });
  for (const p of j.pairs) {
    if (!p.remote.trim() && !p.local.trim()) continue;
    steps.push({ op: 'addfile', args: [JOB, p.remote.trim(), p.local.trim()] });
  }
  if (j.type === 'UPLOAD_REPLY' && j.replyFile.trim()) {
    steps.push({ op: 'setreplyfilename', args: [JOB, j.replyFile.trim()] });
  }
  if (j.start) steps.push({ op: 'resume', args: [JOB] });
  return { create, steps };
}

/** bindJob puts the job's id into a planned step. */
export function bindJob(s: Step, id: string): Step {
  return { ...s, args: s.args.map((a) => (a === JOB ? id : a)) };
}

// ---- The job view's form -------------------------------------------------

/** The editable properties of a job, as the form holds them (text as typed). */
export interface JobForm {
  displayName: string;
  description: string;
  priority: JobPriority;
  minRetryDelay: string;
  noProgressTimeout: string;
  maxDownloadTime: string;
  notifyFlags: number;
  notifyProgram: string;
  notifyParameters: string;
  proxyUsage: string;
  proxyList: string;
  proxyBypass: string;
  dynamic: boolean;
  customHeaders: string;
  httpMethod: string;
  replyFileName: string;
}

/** Properties the pushed JobInfo lacks, read with their own getters. */
export interface JobExtras {
  customHeaders: string[];
  httpMethod: string;
  replyFileName: string;
}

export function formOf(j: JobInfo, x: JobExtras): JobForm {
  return {
    displayName: j.displayName,
    description: j.description,
    priority: j.priority,
    minRetryDelay: String(j.minRetryDelay),
    noProgressTimeout: String(j.noProgressTimeout),
    maxDownloadTime: String(j.maxDownloadTime),
    notifyFlags: j.notifyFlags,
    notifyProgram: j.notifyCmdLine?.program ?? '',
    notifyParameters: j.notifyCmdLine?.parameters ?? '',
    proxyUsage: j.proxy.usage,
    proxyList: j.proxy.list,
    proxyBypass: j.proxy.bypass,
    dynamic: j.dynamic,
    customHeaders: x.customHeaders.join('\n'),
    httpMethod: x.httpMethod || 'GET',
    replyFileName: x.replyFileName,
  };
}

/** How the job view names the BG_NOTIFY bits; the bits themselves come from Meta.notifyFlags. */
const NOTIFY_LABELS: Record<string, string> = {
  JOB_TRANSFERRED: 'Transferred',
  JOB_ERROR: 'Error',
  DISABLE: 'Disable all',
  JOB_MODIFICATION: 'Any change',
  FILE_TRANSFERRED: 'Each file transferred',
};

/** notifyBits lists the notify flags the job view offers: those of the engine that it has a label for. */
export function notifyBits(meta: Pick<Meta, 'notifyFlags'> | null): { bit: number; label: string }[] {
  return (meta?.notifyFlags ?? []).filter((f) => NOTIFY_LABELS[f.name]).map((f) => ({ bit: f.bit, label: NOTIFY_LABELS[f.name] }));
}

const WHOLE = /^\d+$/;

/** headerLines splits the custom headers text into its non-empty lines. */
export function headerLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l);
}

/**
 * validateForm checks the job form as the engine would, with the engine's
 * limits (Meta.limits), so errors show beside their field.
 */
export function validateForm(f: JobForm, limits: Limits = {}): Partial<Record<keyof JobForm, string>> {
  const e: Partial<Record<keyof JobForm, string>> = {};
  for (const k of ['displayName', 'description', 'notifyProgram', 'notifyParameters', 'proxyList'] as const) {
    setIf(e, k, tooLong(limits, k, f[k]));
  }
  for (const k of ['minRetryDelay', 'noProgressTimeout', 'maxDownloadTime'] as const) {
    if (!WHOLE.test(f[k].trim())) e[k] = 'a whole number of seconds';
  }
  if (f.notifyProgram.trim() && !isAbsolutePath(f.notifyProgram.trim())) {
    e.notifyProgram = 'an absolute path (no shell, no PATH search)';
  }
  if (!f.notifyProgram.trim() && f.notifyParameters.trim()) e.notifyProgram = 'parameters need a program';
  if (f.proxyUsage === 'OVERRIDE' && !f.proxyList.trim()) e.proxyList = 'override needs a proxy list';
  const bad = headerLines(f.customHeaders).find((l) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(l));
  if (bad) e.customHeaders = `"${bad}" is not "Name: value"`;
  if (!/^[A-Za-z]+$/.test(f.httpMethod.trim())) e.httpMethod = 'an HTTP method such as GET';
  if (f.replyFileName.trim() && !isAbsolutePath(f.replyFileName.trim())) e.replyFileName = 'an absolute path';
  return e;
}

/**
 * planEdits returns the setters that turn before into after, one per
 * changed property, in the order the job view shows them. The field each
 * step saves is in field, so an engine error lands beside it.
 */
export function planEdits(id: string, before: JobForm, after: JobForm): (Step & { field: keyof JobForm })[] {
  const out: (Step & { field: keyof JobForm })[] = [];
  const put = (field: keyof JobForm, op: string, ...args: string[]) => out.push({ field, op, args: [id, ...args] });
  if (after.displayName !== before.displayName) put('displayName', 'setdisplayname', after.displayName);
  if (after.description !== before.description) put('description', 'setdescription', after.description);
  if (after.priority !== before.priority) put('priority', 'setpriority', after.priority.toLowerCase());
  if (after.minRetryDelay.trim() !== before.minRetryDelay) put('minRetryDelay', 'setminretrydelay', after.minRetryDelay.trim());
  if (after.noProgressTimeout.trim() !== before.noProgressTimeout)
    put('noProgressTimeout', 'setnoprogresstimeout', after.noProgressTimeout.trim());
  if (after.maxDownloadTime.trim() !== before.maxDownloadTime)
    put('maxDownloadTime', 'setmaxdownloadtime', after.maxDownloadTime.trim());
  if (after.notifyFlags !== before.notifyFlags) put('notifyFlags', 'setnotifyflags', String(after.notifyFlags));
  if (after.notifyProgram !== before.notifyProgram || after.notifyParameters !== before.notifyParameters) {
    const prog = after.notifyProgram.trim();
    if (prog) put('notifyProgram', 'setnotifycmdline', prog, after.notifyParameters.trim() || 'NULL');
    else put('notifyProgram', 'setnotifycmdline', 'NULL', 'NULL');
  }
  if (
    after.proxyUsage !== before.proxyUsage ||
    (after.proxyUsage === 'OVERRIDE' && (after.proxyList !== before.proxyList || after.proxyBypass !== before.proxyBypass))
  ) {
    const usage = after.proxyUsage.toLowerCase();
    if (after.proxyUsage === 'OVERRIDE') put('proxyUsage', 'setproxysettings', usage, after.proxyList.trim(), after.proxyBypass.trim() || 'NULL');
    else put('proxyUsage', 'setproxysettings', usage);
  }
  if (after.dynamic !== before.dynamic) put('dynamic', 'setdynamic', String(after.dynamic));
  if (headerLines(after.customHeaders).join('\n') !== headerLines(before.customHeaders).join('\n')) {
    put('customHeaders', 'setcustomheaders', ...headerLines(after.customHeaders));
  }
  if (after.httpMethod.trim().toUpperCase() !== before.httpMethod.toUpperCase())
    put('httpMethod', 'sethttpmethod', after.httpMethod.trim().toUpperCase());
  if (after.replyFileName.trim() !== before.replyFileName)
    put('replyFileName', 'setreplyfilename', after.replyFileName.trim() || 'NULL');
  return out;
}

export interface Credentials {
  target: 'server' | 'proxy';
  scheme: 'basic' | 'digest' | 'ntlm' | 'negotiate';
  user: string;
  password: string;
}

/** credentialSteps: setcredentials; the password goes to the engine once and is never read back. */
export function credentialStep(id: string, c: Credentials): Step {
  return { op: 'setcredentials', args: [id, c.target, c.scheme, c.user, c.password] };
}
