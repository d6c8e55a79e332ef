package ops

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

// Bounds of addfileset's LISTFILE. The engine reads the file, so it must
// never wait on it forever nor hold more of it than a job can use: 16 MiB
// is some 2,500 lines of the longest URL and path pairs Ferry accepts, or
// 100,000 (the largest maxFilesPerJob) of 160 bytes.
const (
	maxListBytes = 16 << 20
	maxListLine  = 64 << 10
)

// listReadTimeout bounds the whole read (a variable for tests).
var listReadTimeout = 10 * time.Second

// readFileSet reads addfileset's list: one "REMOTE LOCAL [SHA256]" a line,
// fields split like a command line (quotes group), "#" starts a comment. It
// refuses anything but a regular file without blocking on it (a FIFO would
// hang the engine), and bounds the size, the line length, the number of
// files (maxFiles, the job limit) and the time taken.
func readFileSet(path string, maxFiles int64) ([]engine.FileSpec, error) {
	f, err := openList(path) // fileset_unix.go, fileset_windows.go
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, bits.Errorf(bits.E_INVALIDARG, "cannot read the file list %s: %v", path, err)
	}
	if err := regularList(path, st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() > maxListBytes {
		f.Close()
		return nil, tooLarge(path)
	}
	return readListWithin(f, path, maxFiles, listReadTimeout)
}

// regularList refuses what is not a regular file, naming what it is.
func regularList(path string, st fs.FileInfo) error {
	what := ""
	switch t := st.Mode().Type(); {
	case t == 0:
		return nil
	case t&fs.ModeDir != 0:
		what = "a directory"
	case t&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		what = "a socket"
	case t&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		what = "a device"
	default:
		what = "not a regular file"
	}
	return bits.Errorf(bits.E_INVALIDARG, "the file list %s is %s; addfileset reads only a regular file", path, what)
}

func tooLarge(path string) error {
	return bits.Errorf(bits.BG_E_TOO_LARGE, "the file list %s is larger than %d MiB", path, maxListBytes>>20)
}

// readListWithin parses r, giving up after d (r is closed either way; a
// read still blocked then ends when the close reaches it).
func readListWithin(r io.ReadCloser, path string, maxFiles int64, d time.Duration) ([]engine.FileSpec, error) {
	type result struct {
		specs []engine.FileSpec
		err   error
	}
	done := make(chan result, 1)
	go func() {
		specs, err := parseFileSet(r, path, maxFiles)
		done <- result{specs, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case res := <-done:
		r.Close()
		return res.specs, res.err
	case <-t.C:
		r.Close()
		return nil, bits.Errorf(bits.ERROR_TIMEOUT, "the file list %s could not be read within %v", path, d)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func parseFileSet(r io.Reader, path string, maxFiles int64) ([]engine.FileSpec, error) {
	cr := &countingReader{r: io.LimitReader(r, maxListBytes+1)}
	var specs []engine.FileSpec
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 0, 64<<10), maxListLine)
	n := 0
	for sc.Scan() {
		n++
		if !utf8.Valid(sc.Bytes()) {
			return nil, bits.Errorf(bits.E_INVALIDARG, "%s line %d is not UTF-8 text", path, n)
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields, err := engine.SplitCommandLine(line)
		if err != nil {
			var be *bits.Error
			if errors.As(err, &be) {
				err = errors.New(be.Msg)
			}
			return nil, bits.Errorf(bits.E_INVALIDARG, "%s line %d: %v", path, n, err)
		}
		if len(fields) < 2 || len(fields) > 3 {
			return nil, bits.Errorf(bits.E_INVALIDARG, "%s line %d: want REMOTE LOCAL [SHA256], got %d fields", path, n, len(fields))
		}
		if int64(len(specs)) >= maxFiles {
			return nil, bits.Errorf(bits.BG_E_TOO_MANY_FILES_IN_JOB, "%s lists more than %d files, the limit of a job (setting %s)", path, maxFiles, engine.KeyMaxFilesPerJob)
		}
		s := engine.FileSpec{RemoteName: fields[0], LocalName: fields[1]}
		if len(fields) == 3 {
			s.SHA256 = fields[2]
		}
		specs = append(specs, s)
	}
	if cr.n > maxListBytes {
		return nil, tooLarge(path)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, bits.Errorf(bits.E_INVALIDARG, "%s line %d is longer than %d KiB", path, n+1, maxListLine>>10)
		}
		return nil, bits.Errorf(bits.E_INVALIDARG, "cannot read the file list %s: %v", path, err)
	}
	if len(specs) == 0 {
		return nil, bits.Errorf(bits.E_INVALIDARG, "%s lists no files", path)
	}
	return specs, nil
}

// openError words a failure to open the list.
func openError(path string, err error) error {
	return bits.Errorf(bits.E_INVALIDARG, "cannot read the file list %s: %v", path, err)
}
