// The job as the engine publishes it: cli.md's JSON shape, the same for the
// Wails bindings, the control API and `ferry list --json`.

export type JobState =
  | 'QUEUED'
  | 'CONNECTING'
  | 'TRANSFERRING'
  | 'SUSPENDED'
  | 'ERROR'
  | 'TRANSIENT_ERROR'
  | 'TRANSFERRED'
  | 'ACKNOWLEDGED'
  | 'CANCELLED';

export type JobType = 'DOWNLOAD' | 'UPLOAD' | 'UPLOAD_REPLY';

export type JobPriority = 'FOREGROUND' | 'HIGH' | 'NORMAL' | 'LOW';

export interface JobProgress {
  /** -1 while any file's size is unknown (BG_SIZE_UNKNOWN). */
  bytesTotal: number;
  bytesTransferred: number;
  filesTotal: number;
  filesTransferred: number;
}

export interface JobTimes {
  creationTime: string | null;
  modificationTime: string | null;
  transferCompletionTime: string | null;
}

export interface JobError {
  context: string;
  code: string;
  name: string;
  description: string;
  protocol: string | null;
  file: { remoteName: string; localName: string } | null;
}

export interface FileInfo {
  remoteName: string;
  localName: string;
  bytesTotal: number;
  bytesTransferred: number;
  completed: boolean;
  /** addfilewithranges' byte ranges (length -1: to the end); null for the whole file */
  ranges?: { offset: number; length: number }[] | null;
}

export interface JobInfo {
  id: string;
  displayName: string;
  description: string;
  type: JobType;
  state: JobState;
  priority: JobPriority;
  owner: string;
  progress: JobProgress;
  times: JobTimes;
  errorCount: number;
  error: JobError | null;
  minRetryDelay: number;
  noProgressTimeout: number;
  maxDownloadTime: number;
  notifyFlags: number;
  notifyCmdLine: { program: string; parameters: string } | null;
  proxy: { usage: string; list: string; bypass: string };
  dynamic: boolean;
  /** CONNECTIONS: connections one file may use (1-16). */
  connections: number;
  /** Connections the transfer holds open now (0 when not transferring). */
  connectionsInUse: number;
  /** COST_FLAGS: the network costs the job may transfer on (a BITS_JOB_TRANSFER_POLICY mask). */
  costFlags: number;
  files?: FileInfo[];
}

/** A failed operation, as the engine reports it (the control API's error object). */
export interface OpErrorBody {
  code: string;
  name: string;
  message: string;
}

/** One engine setting (engine.SettingDefs). */
export interface SettingDef {
  key: string;
  default: number;
  min: number;
  max: number;
  unit: 'count' | 'seconds' | 'hour' | 'bytes/s' | 'bool' | 'path';
  help: string;
  /** a 'path' setting's default (its value is text) */
  defaultText?: string;
}

/** One operation of the ops table, as the UI reads it (web.OpInfo). */
export interface OpInfo {
  name: string;
  group: string;
  usage: string;
  summary: string;
  help?: string;
  args: { name: string; kind: string; optional?: boolean; variadic?: boolean }[];
  flags: { name: string; value?: string; help: string }[];
  prints: boolean;
  /** for the job methods that move a job between states: where each acts (engine.Verbs) */
  verb?: VerbInfo;
}

/** engine.Verb: the states of each job type a verb acts in; elsewhere it does nothing or is refused. */
export interface VerbInfo {
  name: string;
  acts: Partial<Record<JobType, JobState[]>>;
  elsewhere: 'noop' | 'refuse';
  to: JobState;
  needsFiles?: boolean;
}

/** What the UI learns about the engine before its first call (web.Meta). */
export interface Meta {
  version: string;
  downloadDir: string;
  ops: OpInfo[];
  settings: SettingDef[];
  /** the job properties' maximum lengths, by JSON key (displayName, description, …) */
  limits: Limits;
  /** the BG_NOTIFY bits, in the order to list them */
  notifyFlags: { name: string; bit: number }[];
  /** how a setting of a unit is typed besides a whole number */
  units: Partial<Record<SettingDef['unit'], UnitInfo>>;
}

/** Maximum lengths of job properties (web.Meta.Limits). */
export type Limits = Partial<Record<string, number>>;

/** Suffixes that multiply a number, and words that stand for values (web.UnitInfo). */
export interface UnitInfo {
  suffixes?: Record<string, number>;
  named?: Record<string, number>;
}

/** A message the desktop app wants shown once (main.Notice). */
export interface Notice {
  id: string;
  text: string;
}

/** One browser's registration of the native messaging host (manifests.Status). */
export interface BrowserStatus {
  browser: string;
  manifest: string;
  installed: boolean;
  host: string;
  lastContact: string | null;
  connected: boolean;
}
