// A small test harness for Ferry's end-to-end tests: a registry of tests
// run one after another, processes that are always cleaned up, and helpers
// for the real things the tests drive: the ferry binary, nginx, Chromium.
import { spawn, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const e2eDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = resolve(e2eDir, '..');
/** The command line and headless engine (no GUI library). */
export const ferryBin = resolve(process.env.FERRY_BIN || join(repoDir, 'build/bin/ferry'));
/** The desktop app (window, tray, notifications); `ferry` with no arguments starts it. */
export const desktopBin = resolve(process.env.FERRY_DESKTOP_BIN || join(dirname(ferryBin), 'ferry-desktop'));
/** Screenshots and logs of a run (gitignored). */
export const artifacts = join(e2eDir, 'artifacts');
/** Where the README's screenshots go when FERRY_SCREENSHOTS is set (docs/screenshots). */
export const readmeShots = process.env.FERRY_SCREENSHOTS ? resolve(repoDir, process.env.FERRY_SCREENSHOTS) : null;

// ---- tests -----------------------------------------------------------------

const registry = [];

/** test registers a test; fn gets a context with cleanup(). */
export function test(name, fn, { timeout = 60_000 } = {}) {
  registry.push({ name, fn, timeout });
}

export function registered() {
  return registry;
}

export class Cleanup {
  #fns = [];
  add(fn) {
    this.#fns.push(fn);
  }
  async run() {
    for (const fn of this.#fns.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error(`  cleanup: ${e?.message ?? e}`);
      }
    }
    this.#fns = [];
  }
}

export function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

export function eq(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

/** waitFor polls fn until it returns a truthy value, and returns it. */
export async function waitFor(fn, { timeout = 20_000, interval = 100, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await sleep(interval);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix, cleanup) {
  const d = mkdtempSync(join(tmpdir(), `ferry-e2e-${prefix}-`));
  cleanup?.add(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function randomFile(path, size) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, randomBytes(size));
  return path;
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

// ---- processes -------------------------------------------------------------

const live = new Set();

/**
 * start spawns a long-running process; its output goes to a log in the
 * artifacts, and it is killed (by its pid) at cleanup and at exit.
 */
export function start(cmd, args, { env, cwd, name = cmd.split('/').pop(), cleanup, stdin = 'ignore' } = {}) {
  mkdirSync(artifacts, { recursive: true });
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: [stdin, 'pipe', 'pipe'] });
  const log = [];
  p.stdout.on('data', (d) => log.push(d));
  p.stderr.on('data', (d) => log.push(d));
  p.exited = new Promise((r) => p.on('exit', (code, signal) => r({ code, signal })));
  p.output = () => Buffer.concat(log).toString();
  p.saveLog = (file) => writeFileSync(join(artifacts, file), p.output());
  live.add(p);
  p.on('exit', () => live.delete(p));
  const stop = async () => {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await p.exited;
      clearTimeout(t);
    }
    p.saveLog(`${name}.log`);
  };
  p.stop = stop;
  cleanup?.add(stop);
  return p;
}

export function killAll() {
  for (const p of live) p.kill('SIGKILL');
}

/** lines calls cb with each line p prints on stdout. */
export function onLines(p, cb) {
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      cb(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

/** run runs a command to its end. */
export function run(cmd, args, { env, input, cwd, timeout = 60_000 } = {}) {
  return new Promise((res) => {
    const p = execFile(cmd, args, { env: { ...process.env, ...env }, cwd, timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) p.stdin.end(input);
  });
}

/** ferry runs one CLI command against FERRY_HOME home; it throws unless it exits 0 (or okCodes). */
export async function ferry(home, args, { okCodes = [0], env, input } = {}) {
  const r = await run(ferryBin, args, { env: { FERRY_HOME: home, ...env }, input });
  if (!okCodes.includes(r.code)) throw new Error(`ferry ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

export async function ferryJSON(home, args) {
  return JSON.parse((await ferry(home, [...args, '--json'])).stdout);
}

/** engineHome makes a FERRY_HOME whose engine is shut down at cleanup. */
export function engineHome(cleanup) {
  const home = tempDir('home', null);
  cleanup.add(async () => {
    await run(ferryBin, ['shutdown'], { env: { FERRY_HOME: home } });
    try {
      copyFileSync(join(home, 'ferry.log'), join(artifacts, `engine-${home.split('-').pop()}.log`));
    } catch {
      // no log: the engine never started
    }
    rmSync(home, { recursive: true, force: true });
  });
  return home;
}

// ---- nginx -------------------------------------------------------------------

/**
 * nginx serves docroot on a free loopback port, the way
 * backend/internal/testenv/nginx.go does, plus /slow/ (the same files at
 * 256 KiB/s) so that a transfer can be seen moving.
 */
export async function nginx(docroot, cleanup) {
  const dir = tempDir('nginx', cleanup);
  const port = await freePort();
  const user = process.geteuid?.() === 0 ? 'user root;' : '';
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
${user}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    default_type application/octet-stream;
    sendfile on;
    server {
        listen 127.0.0.1:${port};
        server_name localhost;
        root ${docroot};
        location /slow/ {
            alias ${docroot}/;
            limit_rate 256k;
        }
    }
}
`,
  );
  const bin = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  const p = start(bin, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { cleanup, name: 'nginx' });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/`).catch(() => null)) !== null, { what: 'nginx', timeout: 10_000 });
  assert(p.exitCode === null, `nginx exited: ${p.output()}`);
  return base;
}

// ---- ferry web and the browser -------------------------------------------------

/** web starts `ferry web` for home and returns its URL (token included) and token. */
export async function web(home, cleanup) {
  const p = start(ferryBin, ['web', '--listen', '127.0.0.1:0'], { env: { FERRY_HOME: home }, cleanup, name: 'ferry-web' });
  const url = await waitFor(
    () => {
      const m = p.output().match(/^http:\/\/127\.0\.0\.1:\d+\/\?token=\w+$/m);
      if (!m && p.exitCode !== null) throw new Error(`ferry web exited ${p.exitCode}: ${p.output()}`);
      return m?.[0];
    },
    { what: 'the URL printed by ferry web', timeout: 30_000 },
  );
  const u = new URL(url);
  return { url, origin: u.origin, token: u.searchParams.get('token'), proc: p };
}

/** call runs an operation through ferry web's /v1/call with the token as a bearer. */
export async function call(w, op, args = [], flags = {}) {
  const r = await fetch(`${w.origin}/v1/call`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${w.token}` },
    body: JSON.stringify({ op, args, flags }),
  });
  const body = await r.json();
  if (body.error) throw new Error(`${op}: ${body.error.name}: ${body.error.message}`);
  return body.result;
}

const chromiumArgs = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** browser launches Debian's Chromium with a fresh profile. */
export async function browser(cleanup, { colorScheme = 'light', viewport = { width: 1280, height: 800 } } = {}) {
  const { chromium } = await import('playwright-core');
  const profile = tempDir('chromium', cleanup);
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    viewport,
    colorScheme,
    timeout: 60_000,
  });
  cleanup.add(() => ctx.close());
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.problems = problems;
  return { ctx, page };
}

/** shot saves a screenshot in the artifacts (and as a README screenshot when asked). */
export async function shot(page, name, { readme = false } = {}) {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path });
  if (readme) keepForReadme(path, name);
  return path;
}

export function keepForReadme(path, name) {
  if (!readmeShots) return;
  mkdirSync(readmeShots, { recursive: true });
  copyFileSync(path, join(readmeShots, `${name}.png`));
}
