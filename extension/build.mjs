// Builds the extension with the frontend's toolchain (Vite, via the
// node_modules link that `make extension` makes): one source, two unpacked
// builds and their zips under build/extension/:
//   chromium/  Manifest V3 with a service worker (Chromium, Chrome, Edge)
//   firefox/   the same files; the manifest's background is a script and it
//              carries browser_specific_settings.gecko.id
// Each script is one self-contained IIFE: a service worker and a Firefox
// background script both load it without modules.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.env.EXTENSION_OUT || join(here, '..', 'build', 'extension'));
const FIREFOX_ID = 'browser@ferry.invalid'; // backend/browser.FirefoxID

rmSync(out, { recursive: true, force: true });
const chromium = join(out, 'chromium');
const firefox = join(out, 'firefox');
mkdirSync(chromium, { recursive: true });

for (const entry of ['background', 'popup', 'options']) {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: here,
    build: {
      outDir: chromium,
      emptyOutDir: false,
      target: 'es2022',
      minify: false,
      lib: { entry: join(here, 'src', `${entry}.ts`), formats: ['iife'], name: `ferry_${entry}`, fileName: () => `${entry}.js` },
    },
  });
}
cpSync(join(here, 'static'), chromium, { recursive: true });
cpSync(chromium, firefox, { recursive: true });

const manifest = JSON.parse(readFileSync(join(here, 'manifest.json'), 'utf8'));
writeFileSync(join(chromium, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
const ff = structuredClone(manifest);
delete ff.key; // Chromium's; Firefox names the extension by gecko.id
ff.background = { scripts: ['background.js'] };
// Nothing is collected: downloads go to Ferry on this machine, never to a server of ours.
ff.browser_specific_settings = { gecko: { id: FIREFOX_ID, strict_min_version: '142.0', data_collection_permissions: { required: ['none'] } } };
writeFileSync(join(firefox, 'manifest.json'), JSON.stringify(ff, null, 2) + '\n');

// The zips, with Python's zipfile (no zip program needed).
for (const [dir, zip] of [
  [chromium, 'ferry-chromium.zip'],
  [firefox, 'ferry-firefox.zip'],
]) {
  execFileSync('python3', [
    '-c',
    'import os,sys,zipfile\nsrc,dst=sys.argv[1:]\nwith zipfile.ZipFile(dst,"w",zipfile.ZIP_DEFLATED) as z:\n for r,_,fs in os.walk(src):\n  for f in sorted(fs):\n   p=os.path.join(r,f); z.write(p,os.path.relpath(p,src))',
    dir,
    join(out, zip),
  ]);
}
console.log(`extension: ${chromium}, ${firefox} and their zips in ${out}`);
