// Ferry's browser extension in Debian's Chromium (headless, --load-extension),
// talking to the real `ferry native-host` that `ferry browser install` wrote
// into the test's own profile, against a site that serves its files only
// with a login cookie. A context menu cannot be clicked by automation: the
// tests call the very function the menus call (ferry.onMenuClicked in the
// service worker) through the worker's evaluate.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { artifacts, assert, engineHome, eq, ferry, ferryJSON, keepForReadme, repoDir, start, tempDir, test, waitFor, web } from '../lib/harness.mjs';
import { loginServer } from '../lib/loginserver.mjs';

const EXTENSION_ID = 'fhhpiihgikmffhkddmangfemijhpfmbk'; // backend/browser.ChromiumID
const extDir = resolve(process.env.FERRY_EXTENSION || join(repoDir, 'build/extension/chromium'));

const hash = (b) => createHash('sha256').update(b).digest('hex');

/** setup: FERRY_HOME, a config dir whose chromium/ is the profile, the host installed there, the site, Chromium with the extension. */
async function setup(cleanup, log) {
  assert(existsSync(join(extDir, 'manifest.json')), `${extDir} has no manifest.json: run make extension`);
  const home = engineHome(cleanup);
  const cfg = tempDir('xdg', cleanup);
  const env = { FERRY_HOME: home, XDG_CONFIG_HOME: cfg, HOME: join(cfg, 'home') };
  mkdirSync(env.HOME, { recursive: true });
  const inst = JSON.parse((await ferry(home, ['browser', 'install', '--browser', 'chromium', '--json'], { env })).stdout);
  const profile = join(cfg, 'chromium');
  eq(inst[0].manifest, join(profile, 'NativeMessagingHosts', 'org.ferry.host.json'), 'the manifest lies in the profile');
  const dl = tempDir('dl', cleanup);
  // The engine starts here, with the test's HOME and XDG_CONFIG_HOME (as a user's engine has theirs).
  await ferry(home, ['config', 'set', 'downloadDir', dl], { env });
  const files = {};
  for (const [n, size] of [['report.bin', 3 << 20], ['part-a.bin', 200 << 10], ['part-b.bin', 300 << 10], ['taken.bin', 1 << 20], ['kept.bin', 700 << 10], ['again.bin', 900 << 10], ['big.bin', 6 << 20]]) {
    files[n] = randomBytes(size);
  }
  const site = await loginServer(cleanup, files);
  const browserDl = join(env.HOME, 'Downloads');
  mkdirSync(browserDl, { recursive: true });
  const b = await launch(profile, env, site, cleanup, { waitWorker: true });
  log(`chromium with the extension ${EXTENSION_ID}; site ${site.base}; FERRY_HOME ${home}`);
  return { home, env, dl, files, site, profile, browserDl, ...b };
}

/**
 * launch starts Chromium with the extension on profile, logs in to the site
 * and opens its page. It is started here and reached over CDP with
 * noDefaults: a Playwright-launched browser has its downloads redirected by
 * Playwright (Browser.setDownloadBehavior), which bypasses the extension's
 * downloads.onDeterminingFilename; here downloads behave as for a user.
 */
async function launch(profile, env, site, cleanup, { waitWorker }) {
  const proc = start(
    process.env.CHROMIUM || '/usr/bin/chromium',
    [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync', '--disable-background-networking',
      '--disable-component-update', '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=900,600',
      `--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`, 'about:blank',
    ],
    { env, cleanup, name: 'chromium-extension' },
  );
  const ws = await new Promise((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error(`chromium printed no DevTools address: ${proc.output()}`)), 30_000);
    proc.stderr.on('data', (d) => {
      const m = /DevTools listening on (ws:\/\/\S+)/.exec((buf += d.toString()));
      if (m) {
        clearTimeout(t);
        res(m[1]);
      }
    });
  });
  const { chromium } = await import('playwright-core');
  const br = await chromium.connectOverCDP(ws, { noDefaults: true, timeout: 30_000 });
  cleanup.add(() => br.close().catch(() => undefined));
  const ctx = br.contexts()[0];
  let sw = null;
  if (waitWorker) {
    sw = ctx.serviceWorkers().find((w) => w.url().includes(EXTENSION_ID)) ?? (await ctx.waitForEvent('serviceworker', { timeout: 20_000 }));
    eq(new URL(sw.url()).host, EXTENSION_ID, "the service worker's extension id (fixed by the manifest key)");
  }
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.setViewportSize({ width: 900, height: 600 });
  await page.goto(`${site.base}/login`);
  await page.goto(`${site.base}/page`);
  const stop = async () => {
    await br.close().catch(() => undefined);
    await proc.stop();
  };
  return { ctx, sw, page, stop };
}

/** menu calls the menus' handler in the service worker, as a click on the item would. */
function menu(sw, info, tabUrl) {
  return sw.evaluate(
    async ({ info, tabUrl }) => {
      const [tab] = await chrome.tabs.query({ url: tabUrl });
      return globalThis.ferry.onMenuClicked(info, tab);
    },
    { info, tabUrl },
  );
}

async function waitForFile(path, want, what) {
  await waitFor(() => existsSync(path) && hash(readFileSync(path)) === hash(want), { timeout: 60_000, what });
}

test('browser extension: the context menu hands a link behind a login to Ferry, the popup shows its progress, the cookie is sealed', async ({ cleanup, log }) => {
  const { home, env, dl, files, site, sw, page, ctx } = await setup(cleanup, log);
  const pageUrl = `${site.base}/page`;

  // "Download with Ferry" on a link: one job, the file identical.
  const rep = await menu(sw, { menuItemId: 'ferry-link', linkUrl: `${site.base}/files/report.bin`, pageUrl }, pageUrl);
  assert(rep.ok, `the host refused: ${JSON.stringify(rep)}`);
  eq(rep.data.files, [join(dl, 'report.bin')], 'where the file goes');
  await waitForFile(join(dl, 'report.bin'), files['report.bin'], 'report.bin from Ferry');
  const ferryReqs = site.log.filter((r) => r.path === '/files/report.bin');
  assert(ferryReqs.length > 0 && ferryReqs.every((r) => r.cookie.includes(site.session)), 'the cookie travelled with the request');
  eq(ferryReqs[0].referer, pageUrl, 'the Referer');

  // The same link again: " (1)", the first file untouched.
  const again = await menu(sw, { menuItemId: 'ferry-link', linkUrl: `${site.base}/files/report.bin`, pageUrl }, pageUrl);
  eq(again.data.files, [join(dl, 'report (1).bin')], 'a second copy is named with (1)');
  await waitForFile(join(dl, 'report (1).bin'), files['report.bin'], 'report (1).bin');

  // "Download all links with Ferry" on a selection: one job, two files.
  await page.evaluate(() => {
    const r = document.createRange();
    r.selectNodeContents(document.getElementById('sel'));
    getSelection().removeAllRanges();
    getSelection().addRange(r);
  });
  const sel = await menu(sw, { menuItemId: 'ferry-selection', selectionText: 'Both: part A and part B.', pageUrl }, pageUrl);
  assert(sel.ok, `selection refused: ${JSON.stringify(sel)}`);
  eq(sel.data.files, [join(dl, 'part-a.bin'), join(dl, 'part-b.bin')], 'the files of the selection, in one job');
  await waitForFile(join(dl, 'part-a.bin'), files['part-a.bin'], 'part-a.bin');
  await waitForFile(join(dl, 'part-b.bin'), files['part-b.bin'], 'part-b.bin');
  const info = await ferryJSON(home, ['info', sel.data.job]);
  eq(info.progress.filesTotal, 2, 'files in the selection job');

  // The popup lists a job in progress (pushed by the host as it changes).
  const slow = await menu(sw, { menuItemId: 'ferry-link', linkUrl: `${site.base}/slow/big.bin`, pageUrl }, pageUrl);
  assert(slow.ok, 'the slow download was taken');
  const popup = await ctx.newPage();
  await popup.setViewportSize({ width: 384, height: 300 });
  await popup.goto(`chrome-extension://${EXTENSION_ID}/popup.html`);
  const item = popup.locator(`li[data-job="${slow.data.job}"]`);
  await item.waitFor({ timeout: 20_000 });
  const seen = await waitFor(
    async () => {
      const v = await item.locator('progress').evaluate((p) => (p.hasAttribute('value') ? p.value : 0));
      const meta = await item.locator('.meta').textContent();
      return v > 0.05 && v < 1 && /TRANSFERRING/.test(meta) ? { v, meta } : null;
    },
    { timeout: 30_000, what: 'the popup showing the job part-way' },
  );
  log(`popup: ${seen.meta}`);
  const shotPath = join(artifacts, 'browser-popup.png');
  await popup.bringToFront();
  await popup.screenshot({ path: shotPath });
  keepForReadme(shotPath, 'browser-popup');
  // and it follows the job to its end without being asked again
  await waitFor(async () => /TRANSFERRED|ACKNOWLEDGED/.test((await item.locator('.meta').textContent().catch(() => '')) ?? '') || !(await item.count()), {
    timeout: 60_000,
    what: 'the popup following the job to its end',
  });
  await waitForFile(join(dl, 'big.bin'), files['big.bin'], 'big.bin');

  // The context menu, as the extension registers it: headless Chromium draws
  // no native menu, so the test renders the registered items beside the link.
  const items = await sw.evaluate(() => globalThis.ferry.menus);
  await page.bringToFront();
  eq(items.map((m) => m.title), ['Download with Ferry', 'Download all links with Ferry'], 'the menu items');
  await page.evaluate((items) => {
    const a = document.getElementById('one');
    const r = a.getBoundingClientRect();
    const m = document.createElement('div');
    m.style.cssText = `position:absolute;left:${r.left + 30}px;top:${r.bottom + 4}px;background:#fff;border:1px solid #c9ced6;box-shadow:0 4px 14px rgba(0,0,0,.18);padding:4px 0;font:13px system-ui;min-width:260px;border-radius:6px`;
    const where = { link: 'links', image: 'images', video: 'video', audio: 'audio', selection: 'a selection' };
    const row = (i) =>
      `<div style="padding:6px 14px;display:flex;gap:18px;justify-content:space-between"><span>${i.title}</span><span style="color:#888">${i.contexts.map((c) => where[c]).join(', ')}</span></div>`;
    m.innerHTML =
      items.map(row).join('') +
      '<div style="padding:4px 14px 2px;color:#888;font-size:11px;border-top:1px solid #e4e7ec;margin-top:4px">the items the extension registers (chrome.contextMenus), drawn by the test:<br>headless Chromium shows no native context menu</div>';
    document.body.append(m);
  }, items);
  const menuShot = join(artifacts, 'browser-context-menu.png');
  await page.screenshot({ path: menuShot, clip: { x: 0, y: 0, width: 560, height: 300 } });
  keepForReadme(menuShot, 'browser-context-menu');

  // The settings page (ferry web serves the window's UI) says chromium is
  // connected: the engine reads the manifests and the host's last contact.
  const w = await web(home, cleanup);
  const ui = await ctx.newPage();
  await ui.goto(w.url);
  await ui.locator('[data-testid=settings-tab]').click();
  const row = ui.locator('[data-testid=browsers] [data-browser=chromium]');
  await row.locator('.now', { hasText: 'connected, last' }).waitFor({ timeout: 20_000 });
  eq(await ui.locator('[data-testid=browsers] [data-browser=firefox] .now').textContent(), 'not installed', 'firefox on the settings page');
  await ui.locator('input[name=downloadDir]').waitFor();
  eq(await ui.locator('input[name=downloadDir]').inputValue(), dl, 'the download folder on the settings page');

  // The cookie is in no file under FERRY_HOME in clear (the engine stopped:
  // its database and log are complete on disk).
  await ferry(home, ['shutdown']);
  const secret = site.session.split('=')[1];
  const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  const files_ = walk(home).filter((p) => statSync(p).isFile());
  assert(files_.some((p) => p.endsWith('ferry.db')), 'FERRY_HOME holds the database');
  for (const p of files_) assert(!readFileSync(p).includes(secret), `${p} holds the cookie in clear`);
  log(`cookie absent from ${files_.length} files under FERRY_HOME`);
  const [st] = JSON.parse((await ferry(home, ['browser', 'status', '--browser', 'chromium', '--json'], { env })).stdout);
  assert(st.installed && st.connected && st.lastContact, `browser status: ${JSON.stringify(st)}`);
}, { timeout: 240_000 });

test('browser extension: takeover hands a browser download to Ferry, and leaves it to the browser when Ferry cannot be reached', async ({ cleanup, log }) => {
  const { home, env, dl, files, site, profile, sw, page, browserDl, stop } = await setup(cleanup, log);
  await sw.evaluate(() => chrome.storage.local.set({ options: { takeover: true } }));

  // Takeover on: a click on a download link gives a Ferry job, and the
  // browser keeps nothing (its download cancelled and erased).
  await page.click('#take');
  await waitForFile(join(dl, 'taken.bin'), files['taken.bin'], 'taken.bin from Ferry');
  const last = await waitFor(async () => (await sw.evaluate(() => chrome.storage.local.get('lastResult'))).lastResult, { what: 'the hand-over result' });
  assert(last.ok && last.job, `the hand-over: ${JSON.stringify(last)}`);
  await waitFor(async () => (await sw.evaluate(() => chrome.downloads.search({}))).length === 0, { what: 'an empty downloads list' });
  eq(readdirSync(browserDl), [], "the browser's download folder");

  // The first download after the browser starts is not missed: the option
  // is kept, and the worker, woken by the download, is listening at once.
  await stop();
  const again = await launch(profile, env, site, cleanup, { waitWorker: false });
  await again.page.click('#again');
  await waitForFile(join(dl, 'again.bin'), files['again.bin'], 'again.bin from Ferry, the first download after a restart');
  const sw2 = again.ctx.serviceWorkers().find((w) => w.url().includes(EXTENSION_ID)) ?? (await again.ctx.waitForEvent('serviceworker'));
  let left = [];
  await waitFor(async () => (left = await sw2.evaluate(() => chrome.downloads.search({}))).length === 0, { what: 'an empty downloads list after the restart' }).catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(left)}`);
  });
  eq(readdirSync(browserDl), [], "the browser's download folder after the restart");

  // Ferry cannot be reached (its engine stopped, FERRY_HOME unusable so that
  // none can start): the browser downloads it itself.
  await ferry(home, ['shutdown']);
  renameSync(home, `${home}.away`);
  writeFileSync(home, 'not a directory');
  cleanup.add(() => {
    rmSync(home, { force: true });
    if (existsSync(`${home}.away`)) renameSync(`${home}.away`, home);
  });
  await sw2.evaluate(() => chrome.storage.local.remove('lastResult'));
  await again.page.click('#keep');
  const done = await waitFor(
    async () => {
      const items = await sw2.evaluate(() => chrome.downloads.search({}));
      return items.length === 1 && items[0].state === 'complete' ? items[0] : null;
    },
    { timeout: 60_000, what: "the browser's own download to complete" },
  );
  const fell = (await sw2.evaluate(() => chrome.storage.local.get('lastResult'))).lastResult;
  assert(fell && !fell.ok, `the hand-over failed: ${JSON.stringify(fell)}`);
  log(`fallback: ${fell.message}`);
  const saved = readdirSync(browserDl).map((f) => join(browserDl, f));
  eq(saved.length, 1, 'files the browser saved');
  eq(hash(readFileSync(saved[0])), hash(files['kept.bin']), "the browser's copy");
  assert(!existsSync(join(dl, 'kept.bin')), 'Ferry did not download it too');
  eq(done.filename, saved[0], "the browser's download record");
}, { timeout: 180_000 });

// Firefox: Debian's firefox-esr, driven by puppeteer-core over WebDriver
// BiDi, installs the Firefox build as a temporary extension. That is as far
// as automation reaches there: Firefox refuses to navigate to the
// extension's moz-extension:// pages over BiDi and offers no realm of its
// background script, so the menus' handler cannot be called (README,
// "What is tested in a real browser").
test('browser extension: firefox-esr installs the Firefox build (WebDriver BiDi)', async ({ cleanup, log }) => {
  const firefox = process.env.FIREFOX || '/usr/bin/firefox-esr';
  assert(existsSync(firefox), `${firefox} is missing (apt package firefox-esr)`);
  const ffDir = resolve(extDir, '..', 'firefox');
  assert(existsSync(join(ffDir, 'manifest.json')), `${ffDir} has no manifest.json: run make extension`);
  const t = tempDir('firefox', cleanup);
  const { default: puppeteer } = await import('puppeteer-core');
  const br = await puppeteer.launch({ browser: 'firefox', executablePath: firefox, headless: true, userDataDir: join(t, 'profile'), env: { ...process.env, HOME: t } });
  cleanup.add(() => br.close());
  const id = await br.installExtension(ffDir);
  eq(id, 'browser@ferry.invalid', "the extension's id in Firefox (gecko.id, backend/browser.FirefoxID)");
  log(`${(await br.version()).trim()} installed ${id}`);
}, { timeout: 90_000 });
