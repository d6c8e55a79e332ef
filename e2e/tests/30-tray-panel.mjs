// A tray host that starts after the desktop app, as at login when
// autostarted programs race the panel: Debian's real lxqt-panel, whose
// statusnotifier plugin owns org.kde.StatusNotifierWatcher, is started
// after ferry-desktop, and later restarted. Each time Ferry's item must
// register with it, once.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { assert, desktopBin, engineHome, eq, ferry, ferryBin, run, start, tempDir, test, waitFor } from '../lib/harness.mjs';
import { sessionBus, xvfb } from '../lib/desktop.mjs';

const watcher = 'org.kde.StatusNotifierWatcher';

/** busCall runs dbus-send on the session bus and returns its reply's strings. */
async function busCall(session, dest, path, method, ...args) {
  const r = await run('dbus-send', ['--session', '--print-reply', `--dest=${dest}`, path, method, ...args], { env: session });
  if (r.code !== 0) return null;
  return [...r.stdout.matchAll(/string "([^"]*)"/g)].map((m) => m[1]);
}

const nameOwner = async (session, name) =>
  (await busCall(session, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetNameOwner', `string:${name}`))?.[0] ?? null;

const registeredItems = async (session) =>
  (await busCall(session, watcher, '/StatusNotifierWatcher', 'org.freedesktop.DBus.Properties.Get', `string:${watcher}`, 'string:RegisteredStatusNotifierItems')) ?? [];

/** panel starts lxqt-panel with a configuration of its own (the Debian default, which has the statusnotifier plugin). */
function panel(session, panelHome, cleanup, name) {
  return start('lxqt-panel', [], { env: { ...session, HOME: panelHome, XDG_CONFIG_HOME: join(panelHome, '.config') }, cleanup, name });
}

test('a tray host that starts after the window: lxqt-panel, started late and restarted', async ({ cleanup, log }) => {
  assert(existsSync('/usr/bin/lxqt-panel'), 'lxqt-panel is installed (make deps)');
  const display = await xvfb(cleanup, '1100x700');
  const bus = await sessionBus(cleanup);
  const session = { DISPLAY: display, DBUS_SESSION_BUS_ADDRESS: bus, NO_AT_BRIDGE: '1', XDG_RUNTIME_DIR: tempDir('xdg', cleanup) };
  const panelHome = tempDir('lxqt', cleanup);
  mkdirSync(join(panelHome, '.config/lxqt'), { recursive: true });
  copyFileSync('/usr/share/lxqt/panel.conf', join(panelHome, '.config/lxqt/panel.conf'));

  const home = engineHome(cleanup);
  const win = start(desktopBin, [], { env: { ...session, FERRY_HOME: home }, cleanup, name: 'ferry-desktop-late-panel' });
  const itemName = `org.kde.StatusNotifierItem-${win.pid}-1`;
  const item = await waitFor(() => nameOwner(session, itemName), { what: 'the tray item on the bus', timeout: 30_000 });
  await waitFor(async () => (await run(ferryBin, ['--no-autostart', 'list'], { env: { FERRY_HOME: home } })).code === 0, {
    what: 'the window’s engine',
  });
  eq(await nameOwner(session, watcher), null, 'no StatusNotifierWatcher before the panel');
  // The panel comes up a while after the app, as in the report (5 s).
  await new Promise((r) => setTimeout(r, 5000));

  for (const round of ['started late', 'restarted']) {
    const t0 = Date.now();
    const p = panel(session, panelHome, cleanup, `lxqt-panel-${round.replace(' ', '-')}`);
    const mine = (items) => items.filter((i) => i === `${item}/StatusNotifierItem` || i.startsWith(`${itemName}/`) || i === itemName);
    const items = await waitFor(async () => {
      const all = await registeredItems(session);
      return mine(all).length > 0 ? all : null;
    }, { what: `Ferry's item to register with lxqt-panel (${round})`, timeout: 30_000 });
    log(`lxqt-panel ${round}: registered after ${Date.now() - t0} ms: ${JSON.stringify(items)}`);
    eq(mine(items).length, 1, `Ferry's item registered once (${JSON.stringify(items)})`);
    if (round === 'started late') {
      await p.stop();
      await waitFor(async () => (await nameOwner(session, watcher)) === null, { what: 'the watcher to leave with the panel' });
    }
  }

  await ferry(home, ['shutdown']);
  const exit = await Promise.race([win.exited, new Promise((r) => setTimeout(() => r(null), 20_000))]);
  assert(exit !== null, 'ferry-desktop quit within 20 s of ferry shutdown');
  eq(exit.code, 0, 'the exit code after ferry shutdown');
});
