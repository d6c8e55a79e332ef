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
  files?: FileInfo[];
}
