package engine

import (
	"cmp"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/internal/pinned"
)

// AddFile adds one file (IBackgroundCopyJob::AddFile).
func (m *Manager) AddFile(ref string, f FileSpec) error {
	return m.AddFileSet(ref, []FileSpec{f})
}

// AddFileSet adds files atomically: all of them or none. The files are
// checked (stat, access) before the engine lock is taken.
func (m *Manager) AddFileSet(ref string, specs []FileSpec) error {
	if len(specs) == 0 {
		return bits.Errorf(bits.E_INVALIDARG, "no files to add")
	}
	e, err := m.findLive(ref)
	if err != nil {
		return err
	}
	m.mu.Lock()
	typ := e.job.Type
	m.mu.Unlock()
	files := make([]bits.File, 0, len(specs))
	var urlCred *bits.Credential
	dirs := dirChecks{}
	for i, s := range specs {
		f, cred, err := m.checkFile(typ, s, dirs)
		if err == nil && cred != nil {
			if urlCred != nil && *urlCred != *cred {
				err = bits.Errorf(bits.E_INVALIDARG, "the URLs carry different user names or passwords; a job has one server credential")
			}
			urlCred = cred
		}
		if err != nil {
			if len(specs) > 1 {
				return prefixErr(err, "file %d: ", i+1)
			}
			return err
		}
		files = append(files, f)
	}
	var secrets map[string][]byte
	if urlCred != nil {
		if secrets, err = m.sealURLCredential(e.id, *urlCred); err != nil {
			return err
		}
	}
	return m.commit(e, func(c *change) error {
		j := c.job
		if j.State.Final() {
			return finalErr(j)
		}
		if j.Type != bits.TypeDownload && len(j.Files)+len(files) > 1 {
			return bits.Errorf(bits.BG_E_TOO_MANY_FILES, "an %s job holds exactly one file", j.Type)
		}
		if max := m.settings.Get(KeyMaxFilesPerJob); int64(len(j.Files)+len(files)) > max {
			return bits.Errorf(bits.BG_E_TOO_MANY_FILES_IN_JOB, "the job would have %d files; the limit is %d (setting %s)", len(j.Files)+len(files), max, KeyMaxFilesPerJob)
		}
		maxRanges := m.settings.Get(KeyMaxRangesPerFile)
		for _, f := range files {
			if int64(len(f.Ranges)) > maxRanges {
				return bits.Errorf(bits.BG_E_TOO_MANY_RANGES_IN_FILE, "%d ranges for %s; the limit is %d (setting %s)", len(f.Ranges), f.RemoteName, maxRanges, KeyMaxRangesPerFile)
			}
			if f.Ranges != nil && j.Dynamic {
				return bits.Errorf(bits.E_INVALIDARG, "a job with DYNAMIC_CONTENT takes no ranges")
			}
		}
		seen := map[string]bool{}
		for _, f := range j.Files {
			seen[f.LocalName] = true
		}
		for _, f := range files {
			if seen[f.LocalName] {
				return bits.Errorf(bits.E_INVALIDARG, "%s is already a local name in this job", f.LocalName)
			}
			seen[f.LocalName] = true
		}
		if urlCred != nil {
			if err := c.addURLCredential(*urlCred, secrets); err != nil {
				return err
			}
		}
		j.Files = append(j.Files, files...)
		if j.State == bits.StateTransferred {
			// New work in a finished job waits for Resume, as BITS' AddFile+Resume.
			j.CompletionTime = timeZero
			if err := c.to(bits.StateSuspended); err != nil {
				return err
			}
		}
		c.touch()
		c.event(EventModified, -1)
		return nil
	})
}

func prefixErr(err error, format string, args ...any) error {
	var be *bits.Error
	if errors.As(err, &be) {
		return bits.Errorf(be.Code, format+"%s", append(args, be.Msg)...)
	}
	return err
}

// checkFile validates one file for a job of type t. A user name and
// password in an http(s) URL are taken out of it and returned as the
// job's server credential: they are sealed like SetCredentials' and never
// shown again.
func (m *Manager) checkFile(t bits.JobType, s FileSpec, dirs dirChecks) (bits.File, *bits.Credential, error) {
	remote := strings.TrimSpace(s.RemoteName)
	if remote == "" {
		return bits.File{}, nil, bits.Errorf(bits.E_INVALIDARG, "the remote name is empty")
	}
	if len(remote) > bits.MaxRemoteURL {
		return bits.File{}, nil, bits.Errorf(bits.E_INVALIDARG, "the remote name has %d characters; the limit is %d", len(remote), bits.MaxRemoteURL)
	}
	remote, cred, err := splitUserInfo(remote)
	if err != nil {
		return bits.File{}, nil, err
	}
	scheme, err := m.remoteScheme(remote)
	if err != nil {
		return bits.File{}, nil, err
	}
	if t != bits.TypeDownload && scheme != "http" && scheme != "https" {
		return bits.File{}, nil, bits.Errorf(bits.E_INVALIDARG, "uploads go to http:// or https:// URLs, not %q", remote)
	}
	local := s.LocalName
	if local == "" || !filepath.IsAbs(local) {
		return bits.File{}, nil, bits.Errorf(bits.E_INVALIDARG, "the local name %q is not an absolute path", local)
	}
	if len(local) > bits.MaxLocalPath || strings.ContainsRune(local, 0) {
		return bits.File{}, nil, bits.Errorf(bits.E_INVALIDARG, "the local name is not a valid path")
	}
	local = filepath.Clean(local)
	sum := strings.ToLower(strings.TrimSpace(s.SHA256))
	if sum != "" {
		if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
			return bits.File{}, nil, bits.Errorf(bits.E_INVALIDARG, "%q is not a SHA-256 (64 hexadecimal digits)", s.SHA256)
		}
	}
	ranges, err := checkRanges(t, scheme, s.Ranges)
	if err != nil {
		return bits.File{}, nil, err
	}
	var dirID pinned.ID
	if t == bits.TypeDownload {
		if dirID, err = checkTarget(local, dirs); err != nil {
			return bits.File{}, nil, err
		}
	} else {
		st, err := os.Stat(local)
		if err != nil || !st.Mode().IsRegular() {
			return bits.File{}, nil, bits.Errorf(bits.E_INVALIDARG, "the file to upload %s does not exist or is not a regular file", local)
		}
		if err := canRead(local); err != nil {
			return bits.File{}, nil, bits.Errorf(bits.E_ACCESSDENIED, "the file to upload %s cannot be read", local)
		}
	}
	return bits.File{RemoteName: remote, LocalName: local, BytesTotal: bits.SizeUnknown, SHA256: sum, DirID: string(dirID), Ranges: ranges}, cred, nil
}

// checkRanges checks AddFileWithRanges' ranges (nil: the whole file): a
// download over HTTP(S), no offset BG_LENGTH_TO_EOF and no empty range
// (BG_E_INVALID_RANGE), and no two that overlap once sorted by offset
// (BG_E_OVERLAPPING_RANGES; equal offsets overlap whatever their order).
// They stay in the order given: that is the order they are written in.
func checkRanges(t bits.JobType, scheme string, rs []bits.Range) ([]bits.Range, error) {
	if rs == nil {
		return nil, nil
	}
	if t != bits.TypeDownload {
		return nil, bits.Errorf(bits.E_NOTIMPL, "byte ranges apply to download jobs only")
	}
	if scheme != "http" && scheme != "https" {
		return nil, bits.Errorf(bits.E_INVALIDARG, "byte ranges are fetched from http:// and https:// URLs only")
	}
	if len(rs) == 0 {
		return nil, bits.Errorf(bits.E_INVALIDARG, "no ranges were given")
	}
	for i, r := range rs {
		if r.Offset < 0 || (r.Length < 1 && r.Length != bits.LengthToEOF) {
			return nil, bits.Errorf(bits.BG_E_INVALID_RANGE, "range %d (offset %d, length %d) is not a valid range", i, r.Offset, r.Length)
		}
	}
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, func(a, b bits.Range) int { return cmp.Compare(a.Offset, b.Offset) })
	for i := 1; i < len(sorted); i++ {
		p, n := sorted[i-1], sorted[i]
		if p.Length == bits.LengthToEOF || p.Offset+p.Length > n.Offset || p.Offset == n.Offset {
			return nil, bits.Errorf(bits.BG_E_OVERLAPPING_RANGES, "the ranges at offsets %d and %d overlap", p.Offset, n.Offset)
		}
	}
	return slices.Clone(rs), nil
}

// splitUserInfo takes "user:password@" out of an http(s) URL. Other
// schemes may not carry one.
func splitUserInfo(remote string) (string, *bits.Credential, error) {
	u, err := url.Parse(remote)
	if err != nil || u.User == nil {
		return remote, nil, nil
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", nil, bits.Errorf(bits.E_INVALIDARG, "a %s URL cannot carry a user name or password", scheme)
	}
	pw, ok := u.User.Password()
	if !ok || u.User.Username() == "" {
		return "", nil, bits.Errorf(bits.E_INVALIDARG, "the URL names a user without a password; give both, or use setcredentials")
	}
	c := &bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: u.User.Username(), Password: pw}
	u.User = nil
	return u.String(), c, nil
}

// checkTarget checks a download's local name: its directory exists and is
// writable, and the name is free or a regular file that Complete may
// replace. A device, FIFO, socket, directory or symbolic link is refused:
// Complete would replace the node itself (a symbolic link is replaced, not
// followed), and that is never what was meant. It returns the directory's
// identity, which pins it: the temporary file and Complete go only into
// that very directory.
func checkTarget(local string, dirs dirChecks) (pinned.ID, error) {
	if err := checkReplaceable(local); err != nil {
		return "", err
	}
	dir := filepath.Dir(local)
	if c, ok := dirs[dir]; ok {
		return c.id, c.err // the files of a set share directories: each is checked once
	}
	id, err := checkDir(dir)
	dirs[dir] = dirCheck{id, err}
	return id, err
}

// dirChecks remembers the outcome of checkDir for each directory of a set.
type dirChecks map[string]dirCheck

type dirCheck struct {
	id  pinned.ID
	err error
}

func checkDir(dir string) (pinned.ID, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", bits.Errorf(bits.ERROR_PATH_NOT_FOUND, "the directory %s does not exist", dir)
	}
	if err != nil || !st.IsDir() {
		return "", bits.Errorf(bits.ERROR_PATH_NOT_FOUND, "%s is not a directory", dir)
	}
	if err := canWrite(dir); err != nil {
		return "", bits.Errorf(bits.E_ACCESSDENIED, "the directory %s is not writable", dir)
	}
	id, err := pinned.DirID(dir)
	if err != nil {
		return "", bits.Errorf(bits.E_ACCESSDENIED, "the directory %s cannot be opened: %v", dir, err)
	}
	return id, nil
}

// checkReplaceable refuses a local name that exists and is not a regular
// file (E_ACCESSDENIED), at AddFile and again at Complete.
func checkReplaceable(local string) error {
	_, err := replaceable(local)
	return err
}

// replaceable is checkReplaceable returning the regular file found (nil
// when the name is free).
func replaceable(local string) (fs.FileInfo, error) {
	return replaceableStat(local, os.Lstat)
}

// replaceableIn is replaceable for a name in the pinned directory dir.
func replaceableIn(dir *pinned.Dir, local string) (fs.FileInfo, error) {
	return replaceableStat(local, func(string) (fs.FileInfo, error) { return dir.Lstat(filepath.Base(local)) })
}

func replaceableStat(local string, lstat func(string) (fs.FileInfo, error)) (fs.FileInfo, error) {
	st, err := lstat(local)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, bits.Errorf(bits.E_ACCESSDENIED, "the local name %s cannot be examined: %v", local, err)
	}
	switch mode := st.Mode(); {
	case mode.IsRegular():
		return st, nil
	case mode.IsDir():
		return nil, bits.Errorf(bits.E_ACCESSDENIED, "the local name %s is a directory; name a file in it", local)
	case mode&fs.ModeSymlink != 0:
		return nil, bits.Errorf(bits.E_ACCESSDENIED, "the local name %s is a symbolic link; name its target instead", local)
	default:
		return nil, bits.Errorf(bits.E_ACCESSDENIED, "the local name %s is a %s, not a regular file; Ferry replaces only regular files", local, nodeKind(mode))
	}
}

func nodeKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// remoteScheme validates a remote name and returns its driver's scheme.
func (m *Manager) remoteScheme(remote string) (string, error) {
	if filepath.IsAbs(remote) {
		if _, ok := m.drvMap[""]; ok {
			return "", nil
		}
	}
	u, err := url.Parse(remote)
	if err != nil {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q is not a valid URL: %v", redactURL(remote), err)
	}
	scheme := strings.ToLower(u.Scheme)
	if _, ok := m.drvMap[scheme]; !ok || scheme == "" {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q: only http://, https://, file:// URLs and absolute paths are supported", u.Redacted())
	}
	if (scheme == "http" || scheme == "https") && u.Host == "" {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q has no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		// url.Parse takes any digits; a port past 65535 would fail only at
		// the first connection, as a transient error retried for days.
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", bits.Errorf(bits.E_INVALIDARG, "%q: port %s is not between 1 and 65535", u.Redacted(), p)
		}
	}
	if u.User != nil {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q carries a user name or password; give them with setcredentials", u.Redacted())
	}
	if strings.ContainsAny(remote, "*?") && scheme == "file" {
		return "", bits.Errorf(bits.E_INVALIDARG, "%q: wildcards are not supported", remote)
	}
	return scheme, nil
}

// ReplaceRemotePrefix is IBackgroundCopyJob3::ReplaceRemotePrefix. It
// returns S_FALSE when no file matched.
func (m *Manager) ReplaceRemotePrefix(ref, oldPrefix, newPrefix string) (bits.HRESULT, error) {
	if oldPrefix == "" || newPrefix == "" {
		return 0, bits.Errorf(bits.E_INVALIDARG, "both prefixes must be non-empty")
	}
	result := bits.S_FALSE
	err := m.update(ref, func(c *change) error {
		j := c.job
		if j.Type != bits.TypeDownload {
			return bits.Errorf(bits.E_NOTIMPL, "ReplaceRemotePrefix applies to download jobs only")
		}
		next := make([]string, len(j.Files))
		for i, f := range j.Files {
			next[i] = f.RemoteName
			if f.Transferred || !strings.HasPrefix(f.RemoteName, oldPrefix) {
				continue
			}
			n := newPrefix + strings.TrimPrefix(f.RemoteName, oldPrefix)
			if len(n) > bits.MaxRemoteURL {
				return bits.Errorf(bits.E_INVALIDARG, "the new remote name of file %d would be longer than %d characters", i+1, bits.MaxRemoteURL)
			}
			if _, err := m.remoteScheme(n); err != nil {
				return prefixErr(err, "file %d: ", i+1)
			}
			next[i] = n
		}
		changed := false
		for i := range j.Files {
			if j.Files[i].RemoteName != next[i] {
				j.Files[i].RemoteName = next[i]
				changed = true
			}
		}
		if !changed {
			c.noop = true
			return nil
		}
		result = bits.S_OK
		c.restart = true
		return nil
	})
	return result, err
}
