// Jobs in every state worth seeing, for screenshots: one transferring at
// a visible pace, one transferred, one failed, one suspended, one queued.
import { join } from 'node:path';
import { ferry, ferryJSON, randomFile, waitFor } from './harness.mjs';

/** docroot fills a web root with the files the tests download. */
export function docroot(dir) {
  randomFile(join(dir, 'small.bin'), 256 << 10);
  randomFile(join(dir, 'nightly.tar.gz'), 3 << 20);
  randomFile(join(dir, 'debian-13-netinst.iso'), 64 << 20);
  for (const n of ['ep1.mp3', 'ep2.mp3', 'ep3.mp3']) randomFile(join(dir, 'podcast', n), 1 << 20);
  return dir;
}

async function job(home, name, files, { priority, resume = true } = {}) {
  const id = (await ferry(home, ['create', name])).stdout.trim();
  for (const [remote, local] of files) await ferry(home, ['addfile', id, remote, local]);
  if (priority) await ferry(home, ['setpriority', id, priority]);
  if (resume) await ferry(home, ['resume', id]);
  return id;
}

/** mixedJobs creates the jobs and waits until each is in its state. */
export async function mixedJobs(home, base, dl) {
  const nightly = await job(home, 'Nightly build', [[`${base}/nightly.tar.gz`, join(dl, 'nightly.tar.gz')]], { priority: 'high' });
  await waitFor(async () => (await ferryJSON(home, ['info', nightly])).state === 'TRANSFERRED', { what: 'the nightly to transfer' });
  const photos = await job(home, 'Photos backup', [[`${base}/photos/2026.zip`, join(dl, '2026.zip')]], { priority: 'high' });
  await waitFor(async () => (await ferryJSON(home, ['info', photos])).state === 'ERROR', { what: 'the photos job to fail' });
  const iso = await job(home, 'Debian 13 netinst', [[`${base}/slow/debian-13-netinst.iso`, join(dl, 'debian-13-netinst.iso')]], {
    priority: 'foreground',
  });
  const podcast = await job(
    home,
    'Podcast episodes',
    ['ep1.mp3', 'ep2.mp3', 'ep3.mp3'].map((n) => [`${base}/podcast/${n}`, join(dl, n)]),
    { resume: false },
  );
  await ferry(home, ['setdescription', podcast, 'Three episodes for the train']);
  const logs = await job(home, 'Server logs', [[`${base}/slow/nightly.tar.gz`, join(dl, 'logs.tar.gz')]], { priority: 'normal' });
  const queued = await job(home, 'Weekly report', [[`${base}/slow/small.bin`, join(dl, 'report.bin')]], { priority: 'low' });
  await waitFor(async () => (await ferryJSON(home, ['info', iso])).progress.bytesTransferred > 0, { what: 'the ISO to move' });
  return { nightly, photos, iso, podcast, logs, queued };
}
