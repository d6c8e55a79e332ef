package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"

	"ferry/backend/bits"
)

// FileDriver copies local files: file:// URLs and plain absolute paths (on
// Windows also drive-letter and UNC paths, \\server\share\file, which is how
// BITS reads SMB shares: the OS does the SMB part).
// A version is size + modification time (BITS §13.4).
type FileDriver struct {
	// BufferSize is the size of each Target.Write (default 256 KiB).
	BufferSize int
}

var _ Driver = (*FileDriver)(nil)

// NewFile builds the file driver.
func NewFile() *FileDriver { return &FileDriver{BufferSize: DefaultBufferSize} }

// Schemes implements Driver; "" stands for a plain absolute path.
func (d *FileDriver) Schemes() []string { return []string{"file", ""} }

func fileErr(code bits.HRESULT, transient bool, err error) *Error {
	return &Error{Code: code, Context: bits.ContextRemoteFile, Protocol: "file", Transient: transient, Err: err}
}

// LocalPath turns a file:// URL or an absolute path into a path.
func LocalPath(raw string) (string, error) {
	if filepath.IsAbs(raw) {
		return filepath.Clean(raw), nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("not a file URL or absolute path: %q", raw)
	}
	p, err := fileURLPath(u.Host, u.Path)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("file URL without an absolute path: %q", raw)
	}
	return filepath.Clean(p), nil
}

// Download implements Driver.
func (d *FileDriver) Download(ctx context.Context, req Request, t Target) error {
	path, err := LocalPath(req.URL)
	if err != nil {
		return fileErr(bits.E_INVALIDARG, false, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return openErr(err)
	}
	defer f.Close()
	offset, want := req.Offset, req.Validator
	if offset < 0 {
		offset = 0
	}
	for restarts := 0; ; restarts++ {
		v, err := statValidator(f)
		if err != nil {
			return err
		}
		if offset > 0 && (changed(want, v) || offset > v.Size) {
			if err := t.Reset(); err != nil {
				return localErr(fmt.Errorf("reset: %w", err))
			}
			offset = 0
		}
		if err := t.Sized(v); err != nil {
			return localErr(fmt.Errorf("sized: %w", err))
		}
		n, err := d.copyFrom(ctx, f, offset, v.Size-offset, t)
		offset += n
		if err != nil {
			return err
		}
		// Re-check: a file rewritten during the copy must not be spliced.
		after, err := statValidator(f)
		if err != nil {
			return err
		}
		if !changed(v, after) {
			return nil
		}
		if restarts >= maxRestarts {
			return fileErr(bits.BG_E_REMOTE_FILE_CHANGED, true, fmt.Errorf("%s keeps changing", path))
		}
		want = v
	}
}

func statValidator(f *os.File) (bits.Validator, error) {
	st, err := f.Stat()
	if err != nil {
		return bits.Validator{}, fileErr(bits.E_FAIL, true, err)
	}
	if st.IsDir() {
		// Windows refuses to open a directory as a file with access denied.
		return bits.Validator{}, fileErr(bits.E_ACCESSDENIED, false, fmt.Errorf("%s is a directory", f.Name()))
	}
	return bits.Validator{Size: st.Size(), LastModified: st.ModTime().UTC().Format(http.TimeFormat)}, nil
}

func openErr(err error) *Error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fileErr(bits.ERROR_FILE_NOT_FOUND, false, err)
	case errors.Is(err, syscall.ENOTDIR):
		return fileErr(bits.ERROR_PATH_NOT_FOUND, false, err)
	case errors.Is(err, fs.ErrPermission):
		return fileErr(bits.E_ACCESSDENIED, false, err)
	}
	return fileErr(bits.E_FAIL, true, err)
}

// copyFrom writes n bytes of f from offset into t and returns how many it
// wrote. A file shorter than its stat is a change, caught by the re-stat.
func (d *FileDriver) copyFrom(ctx context.Context, f *os.File, offset, n int64, t Target) (int64, error) {
	size := d.BufferSize
	if size <= 0 {
		size = DefaultBufferSize
	}
	bp := getBuf(size)
	defer putBuf(bp)
	buf := *bp
	var done int64
	for done < n {
		if err := ctx.Err(); err != nil {
			return done, fmt.Errorf("copy %s: %w", f.Name(), err)
		}
		p := buf
		if n-done < int64(len(p)) {
			p = p[:n-done]
		}
		m, rerr := f.ReadAt(p, offset+done)
		if m > 0 {
			if _, err := t.Write(p[:m]); err != nil {
				return done, localErr(err)
			}
			done += int64(m)
		}
		if rerr == io.EOF {
			return done, nil
		}
		if rerr != nil {
			return done, fileErr(bits.E_FAIL, true, fmt.Errorf("read %s: %w", f.Name(), rerr))
		}
	}
	return done, nil
}
