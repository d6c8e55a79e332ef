// Runs Ferry's end-to-end tests one after another and ends with the line
// "N passed, N failed" that CI reads. Arguments filter the tests by name
// (a substring); FERRY_BIN names the command-line binary (default
// build/bin/ferry) and FERRY_DESKTOP_BIN the desktop app (default
// ferry-desktop beside it).
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { artifacts, Cleanup, desktopBin, e2eDir, ferryBin, killAll, registered } from './lib/harness.mjs';

for (const bin of [ferryBin, desktopBin]) {
  if (!existsSync(bin)) {
    console.error(`e2e: ${bin} does not exist; run make build first`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });

for (const f of readdirSync(join(e2eDir, 'tests')).filter((f) => f.endsWith('.mjs')).sort()) {
  await import(pathToFileURL(join(e2eDir, 'tests', f)).href);
}

const filters = process.argv.slice(2);
const tests = registered().filter((t) => filters.length === 0 || filters.some((f) => t.name.includes(f)));
let passed = 0;
let failed = 0;
const started = Date.now();
process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});

for (const t of tests) {
  const cleanup = new Cleanup();
  const t0 = Date.now();
  let err = null;
  let timer;
  try {
    await Promise.race([
      t.fn({ cleanup, log: (...a) => console.log('   ', ...a) }),
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${t.timeout} ms`)), t.timeout))),
    ]);
  } catch (e) {
    err = e;
  } finally {
    clearTimeout(timer);
    await cleanup.run();
  }
  const ms = Date.now() - t0;
  if (err) {
    failed++;
    console.log(`✗ ${t.name} (${ms} ms)\n    ${String(err.stack || err).split('\n').slice(0, 6).join('\n    ')}`);
  } else {
    passed++;
    console.log(`✓ ${t.name} (${ms} ms)`);
  }
}
killAll();
console.log(`e2e: ${tests.length} tests in ${((Date.now() - started) / 1000).toFixed(1)} s; artifacts in ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
