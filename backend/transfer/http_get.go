package transfer

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"ferry/backend/bits"
)

// errRestart: the remote file changed under a resumed download; t was reset
// and the file is fetched again from byte 0.
var errRestart = errors.New("remote file changed; restarting from 0")

// maxRestarts bounds restarts within one Download, against a file that
// changes faster than it can be fetched.
const maxRestarts = 2

// static is the BITS download: HEAD, then ranged GETs guarded by If-Range.
func (s *session) static() error {
	v, known, err := s.probe()
	if err != nil {
		return err
	}
	if known {
		if s.offset > 0 && (changed(s.want, v) || s.offset > v.Size) {
			if err := s.reset(); err != nil {
				return err
			}
		}
		s.want = v
		if s.offset == v.Size { // empty file, or every byte already there
			return s.sized(v)
		}
	}
	for restarts := 0; ; {
		done, err := s.get()
		if errors.Is(err, errRestart) {
			if restarts++; restarts > maxRestarts {
				return remoteErr(bits.BG_E_REMOTE_FILE_CHANGED, true, err)
			}
			continue
		}
		if err != nil || done {
			return err
		}
	}
}

// probe asks HEAD for the size and validators. known is false when the
// server does not do HEAD (405/501): the ranged GET then tells the size.
func (s *session) probe() (v bits.Validator, known bool, err error) {
	r, err := s.newRequest(http.MethodHead)
	if err != nil {
		return v, false, err
	}
	resp, err := s.do(r)
	if err != nil {
		return v, false, err
	}
	defer drain(resp)
	switch {
	case resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented:
		return v, false, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return v, false, statusErr(resp.StatusCode)
	case resp.ContentLength < 0:
		return v, false, remoteErr(bits.BG_E_MISSING_FILE_SIZE, false, errors.New("HEAD reply has no Content-Length"))
	}
	return validatorOf(resp, resp.ContentLength), true, nil
}

// get sends one ranged GET from s.offset and writes its body.
func (s *session) get() (done bool, err error) {
	r, err := s.newRequest(http.MethodGet)
	if err != nil {
		return false, err
	}
	// Sent at offset 0 too: a 200 then proves the server ignores ranges,
	// before any byte is written.
	r.Header.Set("Range", fmt.Sprintf("bytes=%d-", s.offset))
	ifRange := ""
	if s.offset > 0 {
		if ifRange = ifRangeOf(s.want); ifRange != "" {
			r.Header.Set("If-Range", ifRange)
		}
	}
	resp, err := s.do(r)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		return s.partial(resp)
	case http.StatusOK:
		return s.whole(resp, ifRange != "")
	case http.StatusRequestedRangeNotSatisfiable:
		if s.offset > 0 { // the file shrank since the probe
			return false, s.restart()
		}
	}
	drain(resp)
	return false, statusErr(resp.StatusCode)
}

// partial handles a 206: checked against the request and the version in t.
func (s *session) partial(resp *http.Response) (bool, error) {
	start, end, total, err := parseContentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return false, invalidReply(err)
	}
	if total < 0 {
		return false, remoteErr(bits.BG_E_MISSING_FILE_SIZE, false, errors.New("Content-Range has no total size"))
	}
	got := validatorOf(resp, total)
	if !s.want.Zero() && changed(s.want, got) {
		if s.offset > 0 {
			return false, s.restart()
		}
		// Nothing written yet: a new version since the probe is fine, but
		// another size for the same ETag/Last-Modified is a broken server.
		if !changed(tagsOf(s.want), tagsOf(got)) {
			return false, invalidReply(fmt.Errorf("size %d in Content-Range, %d in HEAD, same version", total, s.want.Size))
		}
	}
	if start != s.offset || end < start || end >= total {
		return false, invalidReply(fmt.Errorf("asked bytes=%d-, got Content-Range %q", s.offset, resp.Header.Get("Content-Range")))
	}
	n := end - start + 1
	if resp.ContentLength >= 0 && resp.ContentLength != n {
		return false, invalidReply(fmt.Errorf("Content-Length %d for Content-Range %q", resp.ContentLength, resp.Header.Get("Content-Range")))
	}
	s.want = got
	if err := s.sized(got); err != nil {
		return false, err
	}
	if err := s.copy(resp.Body, n); err != nil {
		return false, err
	}
	// A server may send less than asked; the loop asks for the rest.
	return s.offset == total, nil
}

// whole handles a 200 to a ranged GET. Answering If-Range with another
// version, it is the new file in full: reset and take it. Otherwise the
// server ignores Range, and appending would corrupt the file.
func (s *session) whole(resp *http.Response, sentIfRange bool) (bool, error) {
	got := validatorOf(resp, resp.ContentLength)
	if !sentIfRange || !changed(s.want, got) {
		return false, remoteErr(bits.BG_E_INSUFFICIENT_RANGE_SUPPORT, false, errors.New("200 reply to a Range request"))
	}
	if resp.ContentLength < 0 {
		return false, remoteErr(bits.BG_E_MISSING_FILE_SIZE, false, errors.New("new version has no Content-Length"))
	}
	if err := s.reset(); err != nil {
		return false, err
	}
	s.want = got
	if err := s.sized(got); err != nil {
		return false, err
	}
	return true, s.copy(resp.Body, got.Size)
}

// dynamic is DYNAMIC_CONTENT: one plain GET from byte 0, any length.
func (s *session) dynamic() error {
	if s.offset > 0 {
		if err := s.reset(); err != nil {
			return err
		}
	}
	r, err := s.newRequest(s.x.method())
	if err != nil {
		return err
	}
	resp, err := s.do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		if resp.StatusCode < 300 {
			return invalidReply(fmt.Errorf("status %d to a plain GET", resp.StatusCode))
		}
		return statusErr(resp.StatusCode)
	}
	v := validatorOf(resp, resp.ContentLength)
	if err := s.sized(v); err != nil {
		return err
	}
	return s.copy(resp.Body, resp.ContentLength)
}

func (s *session) reset() error {
	if err := s.t.Reset(); err != nil {
		return localErr(fmt.Errorf("reset: %w", err))
	}
	s.offset, s.want = 0, bits.Validator{}
	return nil
}

func (s *session) restart() error {
	if err := s.reset(); err != nil {
		return err
	}
	return errRestart
}

func (s *session) sized(v bits.Validator) error {
	if err := s.t.Sized(v); err != nil {
		return localErr(fmt.Errorf("sized: %w", err))
	}
	return nil
}

// validatorOf reads a reply's version; size < 0 means unknown.
func validatorOf(resp *http.Response, size int64) bits.Validator {
	if size < 0 {
		size = bits.SizeUnknown
	}
	return bits.Validator{Size: size, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
}

// changed compares two versions on the fields both of them know.
func changed(a, b bits.Validator) bool {
	return (a.Size >= 0 && b.Size >= 0 && a.Size != b.Size) ||
		(a.ETag != "" && b.ETag != "" && a.ETag != b.ETag) ||
		(a.LastModified != "" && b.LastModified != "" && a.LastModified != b.LastModified)
}

// tagsOf drops the size, to compare ETag and Last-Modified only.
func tagsOf(v bits.Validator) bits.Validator {
	v.Size = bits.SizeUnknown
	return v
}

// ifRangeOf picks the If-Range value: a strong ETag, else Last-Modified
// (weak ETags are not allowed in If-Range).
func ifRangeOf(v bits.Validator) string {
	if v.ETag != "" && !strings.HasPrefix(v.ETag, "W/") {
		return v.ETag
	}
	return v.LastModified
}

// parseContentRange parses "bytes START-END/TOTAL"; total is -1 for "*".
func parseContentRange(s string) (start, end, total int64, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !ok {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	span, size, ok1 := strings.Cut(rest, "/")
	a, b, ok2 := strings.Cut(span, "-")
	if !ok1 || !ok2 {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	total = -1
	var err3 error
	if size != "*" {
		total, err3 = strconv.ParseInt(size, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	return start, end, total, nil
}
