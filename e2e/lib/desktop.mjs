// A desktop session for the window's tests: an X server (Xvfb) and a
// private D-Bus session bus.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, tempDir, waitFor } from './harness.mjs';

// A session bus that lets anyone own any name and activates no services,
// so that no real daemon of the machine answers in place of the fakes.
export const busConfig = (dir) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

export async function xvfb(cleanup, size) {
  const p = start('Xvfb', ['-displayfd', '1', '-screen', '0', `${size}x24`, '-nolisten', 'tcp', '-noreset'], { cleanup, name: 'xvfb' });
  const n = await waitFor(() => p.output().match(/^(\d+)$/m)?.[1], { what: 'Xvfb to print its display', timeout: 15_000 });
  return `:${n}`;
}

export async function sessionBus(cleanup) {
  const dir = tempDir('bus', cleanup);
  const conf = join(dir, 'bus.conf');
  writeFileSync(conf, busConfig(dir));
  const p = start('dbus-daemon', [`--config-file=${conf}`, '--nofork', '--nopidfile', '--print-address=1'], { cleanup, name: 'dbus-daemon' });
  return waitFor(() => p.output().match(/^(unix:\S+)$/m)?.[1], { what: 'dbus-daemon to print its address', timeout: 15_000 });
}

