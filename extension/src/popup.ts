// The popup: Ferry's active jobs, pushed by the host as they change (the
// "watch" request keeps the host's pipe open), and a link to the window.
import { ext, HOST } from './ext';
import { formatBytes, progress, type JobView, type Reply } from './logic';

const list = document.getElementById('jobs')!;
const status = document.getElementById('status')!;

function render(jobs: JobView[]) {
  list.replaceChildren();
  status.textContent = jobs.length ? '' : 'No active jobs.';
  for (const j of jobs) {
    const li = document.createElement('li');
    li.dataset.job = j.id;
    li.className = `job state-${j.state.toLowerCase()}`;
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = j.name;
    const bar = document.createElement('progress');
    const p = progress(j);
    bar.max = 1;
    if (p !== null) bar.value = p;
    const meta = document.createElement('div');
    meta.className = 'meta';
    const pct = p === null ? '' : ` · ${Math.floor(p * 100)}%`;
    meta.textContent = `${j.state} · ${formatBytes(j.bytesTransferred)} of ${formatBytes(j.bytesTotal)}${pct} · ${j.filesTransferred}/${j.filesTotal} files`;
    li.append(name, bar, meta);
    if (j.error) {
      const err = document.createElement('div');
      err.className = 'error';
      err.textContent = j.error;
      li.append(err);
    }
    list.append(li);
  }
}

function unreachable(message: string) {
  status.textContent = `Ferry cannot be reached: ${message}. Is it installed (ferry browser install)?`;
  status.className = 'error';
}

const port = ext.runtime.connectNative(HOST);
port.onMessage.addListener((m) => {
  const r = m as Reply;
  if (!r.ok) return unreachable(`${r.error?.name}: ${r.error?.message}`);
  render(r.data as JobView[]);
});
port.onDisconnect.addListener((p) => unreachable(p.error?.message ?? ext.runtime.lastError?.message ?? 'the host ended'));
port.postMessage({ id: 1, type: 'watch' });

document.getElementById('open')!.addEventListener('click', async (e) => {
  e.preventDefault();
  const r = (await ext.runtime.sendNativeMessage(HOST, { id: 2, type: 'open' }).catch((err: Error) => ({ ok: false, error: { message: err.message } }))) as Reply;
  if (!r.ok) unreachable(r.error?.message ?? 'no answer');
  else window.close();
});
document.getElementById('options')!.addEventListener('click', (e) => {
  e.preventDefault();
  void ext.runtime.openOptionsPage();
});

void ext.storage.local.get('lastResult').then(({ lastResult }) => {
  const r = lastResult as { ok: boolean; message: string } | undefined;
  if (r) {
    const el = document.getElementById('last')!;
    el.textContent = r.message;
    el.className = r.ok ? 'last ok' : 'last error';
  }
});
