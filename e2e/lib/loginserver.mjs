// A small site behind a login, for the extension's tests: /login sets a
// session cookie; /files/NAME and /slow/NAME serve a file only to a request
// that carries it (403 otherwise), as attachments; /page links to them.
import http from 'node:http';
import { randomBytes } from 'node:crypto';

export async function loginServer(cleanup, files) {
  const session = `sid=${randomBytes(12).toString('hex')}`;
  const log = [];
  const srv = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://x');
    log.push({ path: u.pathname, cookie: req.headers.cookie ?? '', ua: req.headers['user-agent'] ?? '', referer: req.headers.referer ?? '' });
    if (u.pathname === '/login') {
      res.writeHead(200, { 'Set-Cookie': `${session}; Path=/; HttpOnly; SameSite=Lax`, 'Content-Type': 'text/html' });
      return res.end('<p>logged in</p>');
    }
    if (u.pathname === '/page') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(`<!doctype html><title>Files</title><style>body{font:15px system-ui;margin:24px}a{color:#1b62c4}</style>
<h1>Files of the day</h1>
<p><a id="one" href="/files/report.bin">report.bin</a></p>
<p id="sel">Both: <a href="/files/part-a.bin">part A</a> and <a href="/files/part-b.bin">part B</a>.</p>
<p><a id="take" href="/files/taken.bin">taken.bin</a> · <a id="keep" href="/files/kept.bin">kept.bin</a> · <a id="again" href="/files/again.bin">again.bin</a></p>`);
    }
    const m = /^\/(files|slow)\/([\w.-]+)$/.exec(u.pathname);
    const body = m && files[m[2]];
    if (!body) {
      res.writeHead(404);
      return res.end();
    }
    const cookies = (req.headers.cookie ?? '').split(/;\s*/);
    if (!cookies.includes(session)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' });
      return res.end('log in first');
    }
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': body.length,
      'Content-Disposition': `attachment; filename="${m[2]}"`,
    });
    if (m[1] === 'files') return res.end(body);
    // /slow/: 64 KiB every 100 ms, so that a job is seen in progress.
    for (let off = 0; off < body.length && !res.destroyed; off += 64 << 10) {
      res.write(body.subarray(off, off + (64 << 10)));
      await new Promise((r) => setTimeout(r, 100));
    }
    res.end();
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.add(() => new Promise((r) => (srv.closeAllConnections(), srv.close(r))));
  return { base: `http://127.0.0.1:${srv.address().port}`, session, log };
}
