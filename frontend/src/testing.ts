// Test helpers (imported by *.test.ts only, never by the app).
import type { JobInfo } from './types';

/** job returns a job as the engine publishes it, with over applied. */
export function job(id: string, over: Partial<JobInfo> = {}): JobInfo {
  return {
    id,
    displayName: id,
    description: '',
    type: 'DOWNLOAD',
    state: 'QUEUED',
    priority: 'NORMAL',
    owner: 'alice',
    progress: { bytesTotal: 100, bytesTransferred: 0, filesTotal: 1, filesTransferred: 0 },
    times: { creationTime: '2026-11-23T10:00:00Z', modificationTime: null, transferCompletionTime: null },
    errorCount: 0,
    error: null,
    minRetryDelay: 600,
    noProgressTimeout: 1209600,
    maxDownloadTime: 7776000,
    notifyFlags: 3,
    notifyCmdLine: null,
    proxy: { usage: 'PRECONFIG', list: '', bypass: '' },
    dynamic: false,
    connections: 1,
    connectionsInUse: 0,
    costFlags: 0x8000007f,
    ...over,
  };
}
