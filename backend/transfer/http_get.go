package transfer

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/internal/httprange"
)

// errRestart: the remote file changed under a resumed download; t was reset
// and the file is fetched again from byte 0.
var errRestart = errors.New("remote file changed; restarting from 0")

// maxRestarts bounds restarts within one Download, against a file that
// changes faster than it can be fetched.
const maxRestarts = 2

// static is the BITS download without a HEAD: ranged GETs from s.offset.
// The first reply's Content-Range (or Content-Length) gives the size, its
// ETag and Last-Modified the version, so a HEAD would only cost a round
// trip per file. Resumed GETs carry If-Range.
func (s *session) static() error {
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

// get sends one GET from s.offset and writes its body.
func (s *session) get() (done bool, err error) {
	resp, ifRange, err := s.send()
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	return s.handle(resp, ifRange)
}

// send sends one GET from s.offset: ranged, with If-Range when resumed.
func (s *session) send() (resp *http.Response, ifRange string, err error) {
	r, err := s.newRequest(http.MethodGet)
	if err != nil {
		return nil, "", err
	}
	if !s.plain {
		// Sent at offset 0 too: the 206 then carries the total size in
		// Content-Range, and the server's range support is known before
		// any resume needs it.
		r.Header.Set("Range", fmt.Sprintf("bytes=%d-", s.offset))
		if s.offset > 0 && !s.noIfRange {
			if ifRange = ifRangeOf(s.want); ifRange != "" {
				r.Header.Set("If-Range", ifRange)
			}
		}
	}
	resp, err = s.do(r)
	if err != nil {
		return nil, "", err
	}
	return resp, ifRange, nil
}

// handle writes the reply to a GET of send.
func (s *session) handle(resp *http.Response, ifRange string) (bool, error) {
	switch resp.StatusCode {
	case http.StatusPartialContent:
		return s.partial(resp)
	case http.StatusOK:
		return s.whole(resp, ifRange != "")
	case http.StatusRequestedRangeNotSatisfiable:
		return s.unsatisfiable(resp)
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
	if s.offset > 0 && changed(s.want, got) {
		return false, s.restart()
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

// whole handles a 200 to a ranged GET: the whole file, headers included.
//
//   - At offset 0 it is taken: Ferry holds nothing yet, and the body is the
//     file. (BITS fails such a job with BG_E_INSUFFICIENT_RANGE_SUPPORT;
//     servers and proxies that drop Range are its most reported failure.)
//   - Resumed, the reply is compared with the version already held. The
//     same version (sameVersion: same size and a matching strong ETag or
//     Last-Modified) means the server ignored If-Range, e.g. because its
//     ETag is not a quoted entity-tag: the range is asked again without
//     If-Range. If the server answers 200 again it ignores Range itself:
//     the bytes already held are read and dropped, and the rest appended.
//   - Any other reply, a new version or one that cannot be told apart
//     from the old, replaces the bytes held from byte 0: durable bytes
//     are never rewritten in place, and two versions are never spliced.
func (s *session) whole(resp *http.Response, sentIfRange bool) (bool, error) {
	if resp.ContentLength < 0 {
		drain(resp)
		return false, remoteErr(bits.BG_E_MISSING_FILE_SIZE, false, errors.New("200 reply without Content-Length"))
	}
	got := validatorOf(resp, resp.ContentLength)
	switch {
	case s.offset == 0:
		s.note(resp, "the server ignored Range: taking the whole file")
	case sameVersion(s.want, got) && sentIfRange:
		s.note(resp, "the server ignored If-Range for the same version: asking again without it")
		drain(resp)
		s.noIfRange = true
		return false, nil
	case sameVersion(s.want, got) && s.offset <= got.Size:
		s.note(resp, "the server ignored Range: skipping the bytes held")
		s.want = got
		if err := s.sized(got); err != nil {
			return false, err
		}
		if err := s.skip(resp.Body, s.offset); err != nil {
			return false, err
		}
		return true, s.copy(resp.Body, got.Size-s.offset)
	default:
		s.note(resp, "another version, or one that cannot be told apart: restarting from byte 0")
		if err := s.reset(); err != nil {
			return false, err
		}
	}
	s.want = got
	if err := s.sized(got); err != nil {
		return false, err
	}
	return true, s.copy(resp.Body, got.Size)
}

// note logs a 200 to a ranged GET: the exact request and reply headers that
// matter, so that a server's broken range support can be shown to its owner.
func (s *session) note(resp *http.Response, action string) {
	s.d.cfg.Logger.Info("range reply: "+action, "url", redactURL(s.url), "offset", s.offset,
		"range", resp.Request.Header.Get("Range"), "if_range", resp.Request.Header.Get("If-Range"),
		"status", resp.StatusCode, "content_length", resp.ContentLength,
		"etag", resp.Header.Get("ETag"), "last_modified", resp.Header.Get("Last-Modified"),
		"held_etag", s.want.ETag, "held_last_modified", s.want.LastModified, "held_size", s.want.Size)
}

// unsatisfiable handles a 416. From byte 0 it is an empty file (no range of
// it exists); resumed, the file is complete if the size in Content-Range is
// the offset and the version is the same, else it shrank or changed.
func (s *session) unsatisfiable(resp *http.Response) (bool, error) {
	drain(resp)
	total := int64(-1)
	if cr, ok := strings.CutPrefix(resp.Header.Get("Content-Range"), "bytes */"); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(cr), 10, 64); err == nil && n >= 0 {
			total = n
		}
	}
	got := validatorOf(resp, total)
	switch {
	case s.offset > 0 && total == s.offset && !changed(s.want, got):
		return true, s.sized(s.want)
	case s.offset > 0:
		return false, s.restart()
	case total == 0:
		s.want = got
		return true, s.sized(got)
	case !s.plain:
		// A server that refuses "bytes=0-" of a file it has: ask for the
		// whole file without a Range.
		s.plain = true
		return false, nil
	}
	return false, statusErr(resp.StatusCode)
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

// sameVersion proves that b is the version a describes: the same known
// size, nothing that differs, and a strong ETag or a Last-Modified (BITS'
// own version identity, with the size) that both carry and that match.
// ETags are compared byte for byte, quoted or not: a server sends the same
// form each time, and a lenient match could take a new version for the old.
func sameVersion(a, b bits.Validator) bool {
	if changed(a, b) || a.Size < 0 || b.Size != a.Size {
		return false
	}
	strongTag := a.ETag != "" && b.ETag != "" && !strings.HasPrefix(a.ETag, "W/")
	return strongTag || (a.LastModified != "" && b.LastModified != "")
}

// ifRangeOf picks the If-Range value: a strong ETag, else Last-Modified.
// Weak ETags are not allowed in If-Range, and an unquoted one (go-httpbin
// sends them) is not an entity-tag at all: servers never match it.
func ifRangeOf(v bits.Validator) string {
	if isStrongETag(v.ETag) {
		return v.ETag
	}
	return v.LastModified
}

// isStrongETag reports a well-formed strong entity-tag: "opaque".
func isStrongETag(t string) bool {
	return len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' && !strings.Contains(t[1:len(t)-1], `"`)
}

// parseContentRange parses "bytes START-END/TOTAL" with the shared parser
// (internal/httprange); total is -1 for "*". An unsatisfied-range is no
// answer to a request of bytes.
func parseContentRange(s string) (start, end, total int64, err error) {
	cr, err := httprange.ParseContentRange(s)
	if err == nil && cr.Unsatisfied() {
		err = fmt.Errorf("bad Content-Range %q: no range", s)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	return cr.Start, cr.End, cr.Total, nil
}
