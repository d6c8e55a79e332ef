import { describe, expect, it } from 'vitest';
import {
  bindJob,
  credentialStep,
  defaultJobName,
  fileNameFromUrl,
  fileUrlToPath,
  formOf,
  isAbsolutePath,
  JOB,
  joinPath,
  parseList,
  planEdits,
  planNewJob,
  splitFields,
  uniqueLocal,
  urlsFromDrop,
  notifyBits,
  validateForm,
  validateNewJob,
  type NewJob,
} from './forms';
import { job } from './testing';

describe('paths and names', () => {
  it('knows absolute paths', () => {
    expect(isAbsolutePath('/home/a')).toBe(true);
    expect(isAbsolutePath('C:\\Users\\a')).toBe(true);
    expect(isAbsolutePath('relative/a')).toBe(false);
  });
  it('joins with the folder’s separator', () => {
    expect(joinPath('/d', 'f')).toBe('/d/f');
    expect(joinPath('/d/', 'f')).toBe('/d/f');
    expect(joinPath('C:\\d', 'f')).toBe('C:\\d\\f');
  });
  it.each([
    ['https://example.org/pub/a.iso', 'a.iso'],
    ['https://example.org/pub/my%20file.tar.gz?x=1#top', 'my file.tar.gz'],
    ['https://example.org/', 'download'],
    ['https://example.org/dir/', 'dir'],
    ['https://example.org/a%2Fb', 'a_b'],
    ['file:///srv/data/x.bin', 'x.bin'],
    ['/srv/data/y.bin', 'y.bin'],
  ])('%s is saved as %s', (u, want) => expect(fileNameFromUrl(u)).toBe(want));
  it('keeps local names unique', () => {
    const taken = new Set(['/d/a.iso', '/d/a (2).iso']);
    expect(uniqueLocal('/d', 'a.iso', taken)).toBe('/d/a (3).iso');
    expect(uniqueLocal('/d', 'b', taken)).toBe('/d/b');
  });
  it('splits fields with quotes', () => {
    expect(splitFields('http://x/a "/my dir/a" abc')).toEqual(['http://x/a', '/my dir/a', 'abc']);
  });
});

describe('parseList', () => {
  it('reads URLs alone and URL + path lines', () => {
    const { pairs, errors } = parseList(
      ['# nightly', 'https://e.org/a.iso', '', 'https://e.org/b.iso /data/b.iso', 'https://e.org/x/a.iso', 'https://e.org/c rel/c.bin'].join('\n'),
      '/dl',
    );
    expect(errors).toEqual([]);
    expect(pairs).toEqual([
      { remote: 'https://e.org/a.iso', local: '/dl/a.iso' },
      { remote: 'https://e.org/b.iso', local: '/data/b.iso' },
      { remote: 'https://e.org/x/a.iso', local: '/dl/a (2).iso' },
      { remote: 'https://e.org/c', local: '/dl/rel/c.bin' },
    ]);
  });
  it('reports bad lines by number', () => {
    const { pairs, errors } = parseList('ftp://x/a\nhttps://ok/a\nhttps://x/b /a /b /c', '/dl');
    expect(pairs).toHaveLength(1);
    expect(errors).toEqual(['line 1: "ftp://x/a" is not an http(s) or file URL', 'line 3: want REMOTE [LOCAL], got 4 fields']);
  });
  it('needs a folder for URLs alone', () => {
    expect(parseList('https://x/a', '').errors[0]).toMatch(/folder/);
  });
});

describe('drops', () => {
  it('takes URLs from text/uri-list, else text/plain', () => {
    expect(urlsFromDrop('# c\r\nhttps://a/x\r\nfile:///tmp/y', 'ignored')).toEqual(['https://a/x', 'file:///tmp/y']);
    expect(urlsFromDrop('', 'https://a/x\nnot a url')).toEqual(['https://a/x']);
  });
  it('turns file URLs into paths', () => {
    expect(fileUrlToPath('file:///tmp/my%20file')).toBe('/tmp/my file');
    expect(fileUrlToPath('file:///C:/x')).toBe('C:/x');
    expect(fileUrlToPath('https://a')).toBeNull();
  });
});

const base: NewJob = { type: 'DOWNLOAD', name: '', priority: 'NORMAL', pairs: [], replyFile: '', start: true };

describe('new job', () => {
  it('validates downloads', () => {
    expect(validateNewJob(base)['']).toMatch(/at least one/);
    const errs = validateNewJob({
      ...base,
      pairs: [
        { remote: 'ftp://x', local: 'rel' },
        { remote: 'https://a/b', local: '/d/b' },
        { remote: 'https://a/c', local: '/d/b' },
      ],
    });
    expect(Object.keys(errs).sort()).toEqual(['local0', 'local2', 'remote0']);
    expect(errs.local2).toMatch(/same path/);
    expect(validateNewJob({ ...base, pairs: [{ remote: '/srv/file', local: '/d/file' }] })).toEqual({});
  });
  it('checks the name against the engine\'s limit', () => {
    const ok = { ...base, pairs: [{ remote: '/srv/file', local: '/d/file' }] };
    expect(validateNewJob({ ...ok, name: 'x'.repeat(1300) }, { displayName: 1024 }).name).toBe('at most 1,024 characters');
    expect(validateNewJob({ ...ok, name: 'x'.repeat(1024) }, { displayName: 1024 })).toEqual({});
  });
  it('offers the notify flags the engine serves, with labels', () => {
    const flags = [
      { name: 'JOB_TRANSFERRED', bit: 1 },
      { name: 'JOB_ERROR', bit: 2 },
      { name: 'FILE_RANGES_TRANSFERRED', bit: 32 }, // no label: not offered
      { name: 'FILE_TRANSFERRED', bit: 16 },
    ];
    expect(notifyBits({ notifyFlags: flags })).toEqual([
      { bit: 1, label: 'Transferred' },
      { bit: 2, label: 'Error' },
      { bit: 16, label: 'Each file transferred' },
    ]);
    expect(notifyBits(null)).toEqual([]);
  });
  it('validates uploads: one file to an http(s) server', () => {
    const up: NewJob = { ...base, type: 'UPLOAD', pairs: [{ remote: 'file:///x', local: '/a' }] };
    expect(validateNewJob(up).remote0).toBeDefined();
    expect(validateNewJob({ ...up, pairs: [{ remote: 'http://h/u', local: '/a' }, { remote: 'http://h/v', local: '/b' }] })['']).toMatch(/exactly one/);
    expect(validateNewJob({ ...up, type: 'UPLOAD_REPLY', replyFile: 'rel', pairs: [{ remote: 'http://h/u', local: '/a' }] }).replyFile).toBeDefined();
  });
  it('names a job after its first file', () => {
    expect(defaultJobName({ ...base, pairs: [{ remote: 'https://x/a.iso', local: '/d/a.iso' }] })).toBe('a.iso');
    expect(defaultJobName({ ...base, pairs: [{ remote: 'https://x/a.iso', local: '' }, { remote: 'https://x/b', local: '' }] })).toBe('a.iso and 1 more');
    expect(defaultJobName({ ...base, type: 'UPLOAD', pairs: [{ remote: 'https://x/u', local: '/home/r.pdf' }] })).toBe('r.pdf');
    expect(defaultJobName({ ...base, name: ' mine ' })).toBe('mine');
  });
  it('plans create, priority, files, reply file and resume', () => {
    const plan = planNewJob({
      ...base,
      type: 'UPLOAD_REPLY',
      name: 'up',
      priority: 'HIGH',
      pairs: [{ remote: 'http://h/u', local: '/a' }],
      replyFile: '/r',
    });
    expect(plan.create).toEqual({ op: 'create', args: ['up'], flags: { 'upload-reply': 'true' } });
    expect(plan.steps.map((s) => bindJob(s, 'ID'))).toEqual([
      { op: 'setpriority', args: ['ID', 'high'] },
      { op: 'addfile', args: ['ID', 'http://h/u', '/a'] },
      { op: 'setreplyfilename', args: ['ID', '/r'] },
      { op: 'resume', args: ['ID'] },
    ]);
    const quiet = planNewJob({ ...base, start: false, pairs: [{ remote: 'https://x/a', local: '/d/a' }, { remote: '', local: '' }] });
    expect(quiet.create.flags).toEqual({ download: 'true' });
    expect(quiet.steps).toEqual([{ op: 'addfile', args: [JOB, 'https://x/a', '/d/a'] }]);
  });
});

describe('job form', () => {
  const j = job('id1', { notifyCmdLine: { program: '/bin/true', parameters: 'x' } });
  const extras = { customHeaders: ['X-A: 1'], httpMethod: 'GET', replyFileName: '' };
  const f = formOf(j, extras);

  it('plans nothing when nothing changed', () => expect(planEdits('id1', f, { ...f })).toEqual([]));

  it('plans one setter per changed property', () => {
    const steps = planEdits('id1', f, {
      ...f,
      displayName: 'new',
      priority: 'HIGH',
      minRetryDelay: ' 60 ',
      notifyFlags: 0x1 | 0x8,
      notifyProgram: '',
      proxyUsage: 'OVERRIDE',
      proxyList: 'http://p:3128',
      dynamic: true,
      customHeaders: 'X-A: 1\n\nX-B: 2',
      httpMethod: 'head',
    });
    expect(steps.map((s) => [s.op, ...s.args])).toEqual([
      ['setdisplayname', 'id1', 'new'],
      ['setpriority', 'id1', 'high'],
      ['setminretrydelay', 'id1', '60'],
      ['setnotifyflags', 'id1', '9'],
      ['setnotifycmdline', 'id1', 'NULL', 'NULL'],
      ['setproxysettings', 'id1', 'override', 'http://p:3128', 'NULL'],
      ['setdynamic', 'id1', 'true'],
      ['setcustomheaders', 'id1', 'X-A: 1', 'X-B: 2'],
      ['sethttpmethod', 'id1', 'HEAD'],
    ]);
    expect(steps[0].field).toBe('displayName');
  });

  it('removes every custom header with no arguments', () => {
    expect(planEdits('id1', f, { ...f, customHeaders: '' }).map((s) => s.args)).toEqual([['id1']]);
  });

  it('validates as the engine would, with the limits the engine serves', () => {
    const limits = { displayName: 10, description: 20 };
    expect(validateForm(f, limits)).toEqual({});
    // No limits known yet (the meta is loading): lengths are the engine's to judge.
    expect(validateForm({ ...f, displayName: 'x'.repeat(5000) })).toEqual({});
    expect(validateForm({ ...f, description: 'x'.repeat(21) }, limits).description).toBe('at most 20 characters');
    expect(validateForm({ ...f, description: 'x'.repeat(20) }, limits)).toEqual({});
    const e = validateForm({
      ...f,
      displayName: 'x'.repeat(11),
      minRetryDelay: '-1',
      maxDownloadTime: '1.5',
      notifyProgram: 'relative',
      proxyUsage: 'OVERRIDE',
      proxyList: '',
      customHeaders: 'no colon',
      httpMethod: 'G ET',
      replyFileName: 'rel',
    }, limits);
    expect(e.displayName).toBe('at most 10 characters');
    expect(Object.keys(e).sort()).toEqual(
      ['customHeaders', 'displayName', 'httpMethod', 'maxDownloadTime', 'minRetryDelay', 'notifyProgram', 'proxyList', 'replyFileName'].sort(),
    );
  });

  it('sends credentials once', () => {
    expect(credentialStep('id1', { target: 'proxy', scheme: 'ntlm', user: 'u', password: 'p w' })).toEqual({
      op: 'setcredentials',
      args: ['id1', 'proxy', 'ntlm', 'u', 'p w'],
    });
  });
});
