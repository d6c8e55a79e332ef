// `ferry web` in a real Chromium against a real engine and a real nginx.
import http from 'node:http';
import { join } from 'node:path';
import {
  assert,
  browser,
  call,
  engineHome,
  eq,
  ferry,
  ferryJSON,
  nginx,
  sha256,
  shot,
  tempDir,
  test,
  waitFor,
  web,
} from '../lib/harness.mjs';
import { docroot, mixedJobs } from '../lib/jobs.mjs';

/** setup: an engine home, nginx over a docroot, ferry web, and a page logged in with the token. */
async function setup(cleanup, opts = {}) {
  const home = engineHome(cleanup);
  const root = docroot(tempDir('www', cleanup));
  const base = await nginx(root, cleanup);
  const dl = tempDir('dl', cleanup);
  const w = await web(home, cleanup);
  const { page } = await browser(cleanup, opts);
  await page.goto(w.url);
  await page.waitForSelector('[data-testid=summary]');
  return { home, root, base, dl, w, page };
}

const row = (page, name) => page.locator('.spacer .row', { hasText: name });

function rawGet(origin, path, headers = {}) {
  const u = new URL(path, origin);
  return new Promise((res, rej) => {
    http
      .get({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers }, (r) => {
        r.resume();
        r.on('end', () => res(r));
      })
      .on('error', rej);
  });
}

test('ferry web refuses API requests without the token, and foreign Host names', async ({ cleanup }) => {
  const home = engineHome(cleanup);
  const w = await web(home, cleanup);
  // The API and the event stream need the token in a header: not in the
  // query, not in a cookie (every other port of 127.0.0.1 would get it).
  const port = new URL(w.origin).port;
  for (const [p, headers] of [
    ['/v1/meta', {}],
    ['/v1/events', {}],
    [`/v1/meta?token=${w.token}`, {}],
    ['/v1/meta', { Cookie: `ferry_token_${port}=${w.token}` }],
  ]) {
    eq((await fetch(w.origin + p, { headers, redirect: 'manual' })).status, 401, `GET ${p} ${JSON.stringify(headers)}`);
  }
  const post = await fetch(`${w.origin}/v1/call`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"op":"list"}' });
  eq(post.status, 401, 'POST /v1/call without the token');
  eq((await post.json()).error.name, 'E_ACCESSDENIED', 'the refusal names E_ACCESSDENIED');
  eq((await call(w, 'list')) ?? [], [], 'the API with the bearer token');
  // The page itself holds no secret and sets no cookie.
  const page0 = await fetch(w.url, { redirect: 'manual' });
  eq(page0.status, 200, 'the printed link');
  eq(page0.headers.get('set-cookie'), null, 'no cookie');
  assert(!(await page0.text()).includes(w.token), 'the page does not carry the token');
  // DNS rebinding: a name that resolves to us is still refused, token or not.
  eq((await rawGet(w.origin, '/v1/meta', { Host: 'evil.example', Authorization: `Bearer ${w.token}` })).statusCode, 403, 'foreign Host');
  eq((await rawGet(w.origin, '/', { Host: 'evil.example' })).statusCode, 403, 'foreign Host for the page');
  eq((await rawGet(w.origin, '/v1/meta', { Host: `localhost:${port}`, Authorization: `Bearer ${w.token}` })).statusCode, 200, 'localhost Host');
  const { page } = await browser(cleanup);
  await page.goto(w.url);
  await page.waitForSelector('[data-testid=empty]');
  assert(!page.url().includes('token='), `the token left the address bar: ${page.url()}`);
  assert((await page.textContent('[data-testid=empty]')).includes('No transfers yet'), 'the empty state');
  await shot(page, 'web-empty');
  // Another browser profile without the token gets the page, and the
  // engine's refusal says what to open.
  const other = await browser(cleanup);
  await other.page.goto(w.origin + '/');
  await other.page.locator('[data-testid=engine-error]', { hasText: 'ferry web' }).waitFor();
});

// Browsers do not separate cookies by port: a cookie of 127.0.0.1:A goes to
// every server on 127.0.0.1, another user's too. The token lives in the
// tab (sessionStorage) and travels in a header to ferry web alone.
test('the token reaches no other server on 127.0.0.1, and a reload keeps the page live', async ({ cleanup }) => {
  const home = engineHome(cleanup);
  const w = await web(home, cleanup);
  const seen = [];
  const other = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end('<!doctype html><title>another program</title><img src="/pixel.png"><script>fetch("/api", { credentials: "include" })</script>');
  });
  await new Promise((r) => other.listen(0, '127.0.0.1', r));
  cleanup.add(() => new Promise((r) => (other.closeAllConnections(), other.close(r))));
  const otherOrigin = `http://127.0.0.1:${other.address().port}`;
  assert(otherOrigin !== w.origin, 'two ports');
  await ferry(home, ['create', 'two ports']);
  const { ctx, page } = await browser(cleanup);
  await page.goto(w.url);
  await row(page, 'two ports').waitFor();
  assert(!page.url().includes(w.token), `the token left the address bar: ${page.url()}`);
  const cookies = await ctx.cookies();
  assert(!JSON.stringify(cookies).includes(w.token), `no cookie holds the token: ${JSON.stringify(cookies)}`);
  // The user visits another program's page on another port, in another tab.
  const tab = await ctx.newPage();
  await tab.goto(otherOrigin + '/');
  await waitFor(() => seen.some((r) => r.url === '/api'), { what: "the other page's own requests" });
  assert(seen.length >= 2, `the other server saw the page and its requests: ${seen.map((r) => r.url)}`);
  const leaked = seen.filter((r) => JSON.stringify(r).includes(w.token) || /ferry/i.test(r.headers.cookie ?? ''));
  eq(leaked, [], 'requests to the other server that carried the ferry token');
  await tab.close();
  // A reload keeps the token (the tab's sessionStorage): the list and the
  // pushed changes work as before.
  await page.reload();
  await row(page, 'two ports').waitFor();
  await ferry(home, ['create', 'after reload']);
  await row(page, 'after reload').waitFor();
  await page.locator('.status-live').waitFor();
  assert(!page.url().includes(w.token), `no token after the reload: ${page.url()}`);
  eq(seen.filter((r) => JSON.stringify(r).includes(w.token)), [], 'still nothing leaked');
  assert(page.problems.length === 0, page.problems.join('\n'));
});

// Every event stream holds a subscription to the engine: ferry web serves
// at most 32 at once, says why it refuses more, and serves again once
// streams close.
test('ferry web caps its event streams, and a page gets one again when others close', async ({ cleanup }) => {
  const home = engineHome(cleanup);
  const w = await web(home, cleanup);
  const open = async () => {
    const ac = new AbortController();
    const r = await fetch(`${w.origin}/v1/events`, { headers: { Authorization: `Bearer ${w.token}` }, signal: ac.signal });
    return { r, close: () => ac.abort() };
  };
  const held = [];
  cleanup.add(() => held.forEach((s) => s.close()));
  for (let i = 0; i < 32; i++) {
    const s = await open();
    eq(s.r.status, 200, `stream ${i + 1}`);
    held.push(s);
  }
  const over = await open();
  eq(over.r.status, 429, 'the 33rd stream');
  assert((await over.r.json()).error.message.includes('close other Ferry tabs'), 'the refusal says why');
  // A page opened now says so, and goes live as soon as a stream closes.
  await ferry(home, ['create', 'capped']);
  const { page } = await browser(cleanup);
  await page.goto(w.url);
  await page.locator('[data-testid=engine-error]', { hasText: 'close other Ferry tabs' }).waitFor();
  held.pop().close();
  await page.locator('.status-live').waitFor();
  await row(page, 'capped').waitFor();
  await ferry(home, ['create', 'capped, live']);
  await row(page, 'capped, live').waitFor();
  assert(!(await page.locator('[data-testid=engine-error]').isVisible()), 'the refusal is gone once live');
});

test('a download created in the browser reaches TRANSFERRED and completes', async ({ cleanup }) => {
  const s = await setup(cleanup);
  const { page } = s;
  await page.keyboard.press('n');
  const dialog = page.locator('[data-testid=new-job]');
  await dialog.waitFor();
  await dialog.locator('input[name=remote0]').fill(`${s.base}/nightly.tar.gz`);
  await dialog.locator('input[name=folder]').fill(s.dl);
  eq(await dialog.locator('input[name=local0]').inputValue(), join(s.dl, 'nightly.tar.gz'), 'the local name follows the URL');
  await dialog.locator('input[name=name]').fill('e2e download');
  await shot(page, 'web-new-job');
  await dialog.locator('[data-testid=create]').click();
  await dialog.waitFor({ state: 'detached' });
  await waitFor(async () => (await row(page, 'e2e download').locator('.badge').textContent()) === 'Transferred', {
    what: 'the job to show Transferred',
  });
  await shot(page, 'web-transferred');
  await row(page, 'e2e download').locator('.name .link').click();
  const view = page.locator('[data-testid=job-view]');
  await view.getByRole('button', { name: 'Complete', exact: true }).click();
  await waitFor(async () => (await ferryJSON(s.home, ['list'])).length === 0, { what: 'the job to leave the list' });
  await page.locator('[data-testid=empty]').waitFor();
  eq(sha256(join(s.dl, 'nightly.tar.gz')), sha256(join(s.root, 'nightly.tar.gz')), 'the downloaded file');
  assert(page.problems.length === 0, page.problems.join('\n'));
});

test('a property edited in the job view is what ferry info reports', async ({ cleanup }) => {
  const s = await setup(cleanup);
  const id = (await ferry(s.home, ['create', 'e2e edit'])).stdout.trim();
  await ferry(s.home, ['addfile', id, `${s.base}/small.bin`, join(s.dl, 'small.bin')]);
  const { page } = s;
  await row(page, 'e2e edit').locator('.name .link').click();
  const form = page.locator('[data-testid=job-props]');
  await form.waitFor();
  await form.locator('input[name=displayName]').fill('e2e edited');
  await form.locator('textarea[name=description]').fill('edited in the browser <ok> & fine');
  await form.locator('select[name=priority]').selectOption('HIGH');
  await form.locator('input[name=minRetryDelay]').fill('60');
  await form.getByLabel('Any change').check();
  await form.locator('select[name=proxyUsage]').selectOption('OVERRIDE');
  await form.locator('input[name=proxyList]').fill('http://proxy.invalid:3128');
  await form.locator('input[name=proxyBypass]').fill('<local>');
  await form.locator('textarea[name=customHeaders]').fill('X-Ferry-Test: 1');
  await form.locator('input[name=notifyProgram]').fill('/bin/true');
  await shot(page, 'web-edit');
  await form.locator('[data-testid=save]').click();
  await page.locator('.toast', { hasText: /^Saved$/ }).waitFor();
  const info = await ferryJSON(s.home, ['info', id]);
  eq(
    [info.displayName, info.description, info.priority, info.minRetryDelay, info.notifyFlags, info.proxy, info.notifyCmdLine?.program],
    ['e2e edited', 'edited in the browser <ok> & fine', 'HIGH', 60, 0x3 | 0x8, { usage: 'OVERRIDE', list: 'http://proxy.invalid:3128', bypass: '<local>' }, '/bin/true'],
    'ferry info after saving',
  );
  eq((await ferry(s.home, ['getcustomheaders', id])).stdout.trim(), 'X-Ferry-Test: 1', 'custom headers');
  // Credentials: write-only; the password never comes back.
  const view = page.locator('[data-testid=job-view]');
  await view.getByLabel('User name').fill('alice');
  await view.getByLabel('Password').fill('s3cret-pw');
  await view.getByRole('button', { name: 'Set', exact: true }).click();
  await page.locator('.toast', { hasText: 'Credentials set' }).waitFor();
  eq(await view.getByLabel('Password').inputValue(), '', 'the password field is cleared');
  assert(!(await ferry(s.home, ['info', id, '--json'])).stdout.includes('s3cret-pw'), 'info never shows the password');
  // An invalid value is caught beside its field, before the engine.
  await form.locator('input[name=maxDownloadTime]').fill('soon');
  await form.locator('[data-testid=save]').click();
  await form.locator('.field-error', { hasText: 'whole number' }).waitFor();
  // The pushed change shows in the list at once.
  await row(page, 'e2e edited').waitFor();
  assert(page.problems.length === 0, page.problems.join('\n'));
});

test('a 404 shows as an error with Resume and Cancel', async ({ cleanup }) => {
  const s = await setup(cleanup);
  const { page } = s;
  await page.locator('[data-testid=new-job-button]').click();
  const dialog = page.locator('[data-testid=new-job]');
  await dialog.locator('input[name=remote0]').fill(`${s.base}/no/such/file.iso`);
  await dialog.locator('input[name=folder]').fill(s.dl);
  await dialog.locator('input[name=name]').fill('e2e missing');
  await dialog.locator('[data-testid=create]').click();
  await waitFor(async () => (await row(page, 'e2e missing').locator('.badge').textContent()) === 'Error', { what: 'the job to show Error' });
  await row(page, 'e2e missing').locator('.name .link').click();
  const err = page.locator('[data-testid=job-error]');
  await err.waitFor();
  const text = await err.textContent();
  for (const want of ['BG_E_HTTP_ERROR_404', '0x80190194', 'REMOTE_FILE', `${s.base}/no/such/file.iso`, join(s.dl, 'file.iso')]) {
    assert(text.includes(want), `the error panel shows ${want}: ${text}`);
  }
  assert(await err.getByRole('button', { name: 'Resume' }).isVisible(), 'a Resume button');
  assert(await err.getByRole('button', { name: 'Cancel' }).isVisible(), 'a Cancel button');
  await shot(page, 'job-error', { readme: true });
  // Resume retries (and fails again); Cancel asks, then ends the job.
  await err.getByRole('button', { name: 'Resume' }).click();
  await waitFor(async () => (await ferryJSON(s.home, ['list']))[0]?.errorCount >= 2, { what: 'a second attempt' });
  await err.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('[data-testid=confirm]').getByRole('button', { name: 'Cancel job' }).click();
  await waitFor(async () => (await ferryJSON(s.home, ['list'])).length === 0, { what: 'the job to be cancelled' });
  await page.locator('[data-testid=job-view]', { hasText: 'Job gone' }).waitFor();
});

test('the settings page changes the engine’s policies', async ({ cleanup }) => {
  const s = await setup(cleanup);
  const { page } = s;
  await page.locator('[data-testid=settings-tab]').click();
  const form = page.locator('[data-testid=settings]');
  await form.waitFor();
  await form.locator('input[name=maxBackgroundJobs]').fill('3');
  await form.locator('input[name="bandwidth.background"]').fill('512K');
  await form.locator('input[name=maxJobsPerUser]').fill('0'); // below the minimum: refused in place
  await form.getByRole('button', { name: /^Save/ }).click();
  await form.locator('.field-error', { hasText: 'between' }).waitFor();
  await form.locator('input[name=maxJobsPerUser]').fill('100');
  await form.getByRole('button', { name: /^Save/ }).click();
  await page.locator('.toast', { hasText: 'Saved 3 settings' }).waitFor();
  const cfg = await ferryJSON(s.home, ['config']);
  eq([cfg.maxBackgroundJobs, cfg['bandwidth.background'], cfg.maxJobsPerUser], [3, 512 * 1024, 100], 'ferry config');
  await shot(page, 'web-settings');
});

test('keyboard: search, select all, Space resumes, Delete cancels after asking', async ({ cleanup }) => {
  const s = await setup(cleanup);
  const ids = [];
  for (const n of ['alpha', 'beta', 'gamma']) {
    const id = (await ferry(s.home, ['create', `kb ${n}`])).stdout.trim();
    await ferry(s.home, ['addfile', id, `${s.base}/small.bin`, join(s.dl, `${n}.bin`)]);
    ids.push(id);
  }
  const { page } = s;
  await row(page, 'kb gamma').waitFor();
  await page.keyboard.press('/');
  await page.keyboard.type('beta');
  await waitFor(async () => (await page.locator('.spacer .row').count()) === 1, { what: 'the search to leave one row' });
  await page.keyboard.press('Escape'); // clears the search
  await waitFor(async () => (await page.locator('.spacer .row').count()) === 3, { what: 'all rows back' });
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Control+a');
  await page.locator('[data-testid=bulk]', { hasText: '3 selected' }).waitFor();
  await page.keyboard.press(' ');
  await waitFor(async () => (await ferryJSON(s.home, ['list'])).every((j) => j.state !== 'SUSPENDED'), { what: 'Space to resume all three' });
  await page.keyboard.press('Delete');
  await page.locator('[data-testid=confirm]', { hasText: 'Cancel 3 jobs?' }).waitFor();
  await page.keyboard.press('Escape'); // "Keep"
  eq((await ferryJSON(s.home, ['list'])).length, 3, 'Escape keeps the jobs');
  await page.keyboard.press('Delete');
  await page.locator('[data-testid=confirm]').getByRole('button', { name: 'Cancel 3 jobs' }).click();
  await page.locator('[data-testid=empty]').waitFor();
  eq((await ferryJSON(s.home, ['list'])).length, 0, 'Delete cancelled all three');
});

test('screenshots: the job list in light and dark, a job, the new-job dialog', async ({ cleanup }) => {
  const s = await setup(cleanup);
  const ids = await mixedJobs(s.home, s.base, s.dl);
  const { page } = s;
  await row(page, 'Weekly report').waitFor();
  await page.waitForTimeout(1500); // a rate to show
  await shot(page, 'browser-jobs');
  await row(page, 'Debian 13 netinst').locator('.name .link').click();
  await page.locator('[data-testid=files] tbody tr').first().waitFor();
  await page.waitForTimeout(600);
  await shot(page, 'browser-job-view', { readme: true });
  await page.keyboard.press('Escape');
  const dark = await browser(cleanup, { colorScheme: 'dark' });
  await dark.page.goto(s.w.url);
  await row(dark.page, 'Weekly report').waitFor();
  await dark.page.waitForTimeout(1500);
  await shot(dark.page, 'browser-jobs-dark', { readme: true });
  await page.keyboard.press('n');
  const dialog = page.locator('[data-testid=new-job]');
  await dialog.locator('input[name=folder]').fill(s.dl);
  await dialog.getByRole('button', { name: 'Paste a list…' }).click();
  await dialog
    .getByLabel('List of URLs')
    .fill(['https://cdimage.example.org/debian-13.iso', 'https://cdimage.example.org/SHA256SUMS', 'https://example.org/a.iso /tmp/a.iso'].join('\n'));
  await dialog.getByRole('button', { name: 'Add these' }).click();
  await shot(page, 'browser-new-job', { readme: true });
  await page.keyboard.press('Escape');
  await ferry(s.home, ['cancel', ids.iso]);
  assert(page.problems.length === 0, page.problems.join('\n'));
});

test('10,000 jobs render, scroll and filter smoothly', async ({ cleanup, log }) => {
  const home = engineHome(cleanup);
  await ferry(home, ['config', 'set', 'maxJobsPerUser', '20000']);
  await ferry(home, ['config', 'set', 'maxJobsPerMachine', '20000']);
  const w = await web(home, cleanup);
  const N = 10_000;
  let t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < N) {
        const i = next++;
        await call(w, 'create', [`bulk job ${String(i).padStart(5, '0')}`]);
      }
    }),
  );
  log(`created ${N} jobs through /v1/call in ${Date.now() - t0} ms`);
  const { page } = await browser(cleanup);
  t0 = Date.now();
  await page.goto(w.url);
  await page.locator('[data-testid=summary]', { hasText: `${N} jobs` }).waitFor({ timeout: 30_000 });
  await page.locator('.spacer .row').first().waitFor();
  const loadMs = Date.now() - t0;
  const domRows = await page.locator('.spacer .row').count();
  assert(domRows > 5 && domRows < 80, `the list renders only the visible rows (${domRows} in the DOM)`);
  // Newest first: the top rows are the last jobs the engine made (its list is in creation order).
  const made = (await ferryJSON(home, ['list'])).map((j) => j.displayName);
  const top = [];
  for (let r = 2; r <= 6; r++) top.push((await page.locator(`.spacer .row[aria-rowindex="${r}"] .cell.name button.link`).textContent()).trim());
  eq(top.join(', '), made.slice(-5).reverse().join(', '), 'the top rows are the newest jobs');
  // Jump to the bottom: the last job must be there within a frame or two.
  const jump = await page.evaluate(async (n) => {
    const sc = document.querySelector('.scroller');
    const t = performance.now();
    sc.scrollTop = sc.scrollHeight;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => requestAnimationFrame(r));
      if (document.querySelector(`.spacer .row[aria-rowindex="${n + 1}"]`)) break;
    }
    return { ms: performance.now() - t, rows: document.querySelectorAll('.spacer .row').length };
  }, N);
  // Scroll through the whole list frame by frame and time the frames.
  const frames = await page.evaluate(async () => {
    const sc = document.querySelector('.scroller');
    sc.scrollTop = 0;
    const times = [];
    let last = performance.now();
    for (let y = 0; y < sc.scrollHeight; y += sc.scrollHeight / 120) {
      sc.scrollTop = y;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    times.sort((a, b) => a - b);
    return { n: times.length, median: times[times.length >> 1], p95: times[Math.floor(times.length * 0.95)], max: times[times.length - 1] };
  });
  await shot(page, 'web-10k');
  // Search over 10,000 names.
  t0 = Date.now();
  await page.locator('.search').fill('bulk job 04242');
  await waitFor(async () => (await page.locator('.spacer .row').count()) === 1, { what: 'the search to find one job' });
  const searchMs = Date.now() - t0;
  // A burst of pushed changes: suspend-all through the engine while the page watches.
  log(`10k: load ${loadMs} ms, ${domRows} DOM rows, jump to bottom ${jump.ms.toFixed(0)} ms, scroll frames median ${frames.median.toFixed(1)} ms p95 ${frames.p95.toFixed(1)} ms max ${frames.max.toFixed(1)} ms, search ${searchMs} ms`);
  assert(jump.ms < 500, `jumping to the bottom took ${jump.ms} ms`);
  assert(frames.p95 < 100, `scrolling frames p95 ${frames.p95} ms`);
  assert(loadMs < 20_000, `loading 10,000 jobs took ${loadMs} ms`);
  assert(searchMs < 3000, `searching took ${searchMs} ms`);
  assert(page.problems.length === 0, page.problems.join('\n'));
}, { timeout: 180_000 });

// The browser UI keeps working across an engine restart: the event stream
// reconnects and the list is read again.
test('the page follows the engine when it stops and starts again', async ({ cleanup }) => {
  const s = await setup(cleanup);
  const { page } = s;
  await ferry(s.home, ['create', 'before restart']);
  await row(page, 'before restart').waitFor();
  await ferry(s.home, ['shutdown']);
  // Any command starts the engine again; the page catches up by itself.
  await ferry(s.home, ['create', 'after restart']);
  await row(page, 'after restart').waitFor({ timeout: 20_000 });
  assert(await row(page, 'before restart').isVisible(), 'the old job is still listed');
});
