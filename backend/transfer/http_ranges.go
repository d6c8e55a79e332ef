package transfer

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/internal/httprange"
)

// span is one byte range to fetch: [start, end], inclusive.
type span struct{ start, end int64 }

// ranges fetches req.Ranges (AddFileWithRanges) back to back into t: one
// GET asks for every range not yet held (a multipart/byteranges reply, or a
// plain 206 for one range), and each part must be exactly the range asked
// for, in order: a server that merges or reorders ranges is
// BG_E_INVALID_SERVER_RESPONSE and not a byte of its reply is written. A
// range outside the remote file is BG_E_INVALID_RANGE.
func (s *session) ranges() error {
	rs := s.req.Ranges
	for restarts := 0; ; restarts++ {
		if restarts > maxRestarts {
			return remoteErr(bits.BG_E_REMOTE_FILE_CHANGED, true, errors.New("the remote file kept changing"))
		}
		if hasEOF(rs) {
			// A range to the end of the file needs the file's size first.
			total, v, err := s.probe()
			if err != nil {
				return err
			}
			if s.offset > 0 && changed(withSize(s.want, -1), withSize(v, -1)) {
				if err := s.reset(); err != nil {
					return err
				}
			}
			resolved, err := resolve(rs, total)
			if err != nil {
				return err
			}
			rs = resolved
		}
		err := s.fetchRanges(rs)
		if errors.Is(err, errRestart) {
			continue
		}
		return err
	}
}

func hasEOF(rs []bits.Range) bool {
	for _, r := range rs {
		if r.Length == bits.LengthToEOF {
			return true
		}
	}
	return false
}

func withSize(v bits.Validator, n int64) bits.Validator { v.Size = n; return v }

// resolve turns lengths to the end of the file into lengths, and refuses a
// range outside a file of total bytes.
func resolve(rs []bits.Range, total int64) ([]bits.Range, error) {
	out := make([]bits.Range, len(rs))
	for i, r := range rs {
		if r.Length == bits.LengthToEOF {
			r.Length = total - r.Offset
		}
		if r.Offset >= total || r.Length <= 0 || r.Offset+r.Length > total {
			return nil, remoteErr(bits.BG_E_INVALID_RANGE, false,
				fmt.Errorf("range %d (offset %d) is outside the remote file of %d bytes", i, r.Offset, total))
		}
		out[i] = r
	}
	return out, nil
}

// probe asks for the first byte to learn the file's size and version.
func (s *session) probe() (int64, bits.Validator, error) {
	r, err := s.newRequest(http.MethodGet)
	if err != nil {
		return 0, bits.Validator{}, err
	}
	r.Header.Set("Range", "bytes=0-0")
	resp, err := s.do(r)
	if err != nil {
		return 0, bits.Validator{}, err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr, err := httprange.ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || cr.Total < 0 {
			return 0, bits.Validator{}, invalidReply(fmt.Errorf("Content-Range %q gives no size", resp.Header.Get("Content-Range")))
		}
		return cr.Total, validatorOf(resp, -1), nil
	case http.StatusRequestedRangeNotSatisfiable:
		return 0, bits.Validator{}, remoteErr(bits.BG_E_INVALID_RANGE, false, errors.New("the remote file is empty"))
	case http.StatusOK:
		return 0, bits.Validator{}, remoteErr(bits.BG_E_INSUFFICIENT_RANGE_SUPPORT, false, errors.New("the server does not answer byte ranges"))
	}
	return 0, bits.Validator{}, statusErr(resp.StatusCode)
}

// fetchRanges asks for the ranges of rs not yet held and writes the reply.
func (s *session) fetchRanges(rs []bits.Range) error {
	var sum int64
	for _, r := range rs {
		sum += r.Length
	}
	// The spans still wanted, from the bytes held.
	var want []span
	skip := s.offset
	for _, r := range rs {
		if skip >= r.Length {
			skip -= r.Length
			continue
		}
		want = append(want, span{r.Offset + skip, r.Offset + r.Length - 1})
		skip = 0
	}
	if len(want) == 0 {
		return nil
	}
	r, err := s.newRequest(http.MethodGet)
	if err != nil {
		return err
	}
	specs := make([]string, len(want))
	for i, w := range want {
		specs[i] = fmt.Sprintf("%d-%d", w.start, w.end)
	}
	r.Header.Set("Range", "bytes="+strings.Join(specs, ","))
	if s.offset > 0 {
		if ir := ifRangeOf(s.want); ir != "" {
			r.Header.Set("If-Range", ir)
		}
	}
	resp, err := s.do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusRequestedRangeNotSatisfiable:
		drain(resp)
		return remoteErr(bits.BG_E_INVALID_RANGE, false, fmt.Errorf("the server cannot satisfy %s", r.Header.Get("Range")))
	case http.StatusOK:
		drain(resp)
		if s.offset > 0 && r.Header.Get("If-Range") != "" {
			// Another version (If-Range did not match): start over.
			if err := s.reset(); err != nil {
				return err
			}
			return errRestart
		}
		return remoteErr(bits.BG_E_INSUFFICIENT_RANGE_SUPPORT, false, errors.New("the server answered byte ranges with the whole file"))
	default:
		drain(resp)
		return statusErr(resp.StatusCode)
	}
	v := validatorOf(resp, sum)
	if s.offset > 0 && changed(withSize(s.want, -1), withSize(v, -1)) {
		drain(resp)
		if err := s.reset(); err != nil {
			return err
		}
		return errRestart
	}
	mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "multipart/byteranges" {
		return s.parts(resp, multipart.NewReader(resp.Body, params["boundary"]), rs, want, v)
	}
	// One part: right only when one range was asked for.
	cr, err := httprange.ParseContentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return invalidReply(err)
	}
	if err := s.checkPart(cr, rs, want[0], len(want) == 1); err != nil {
		return err
	}
	if err := s.sizedRanges(v); err != nil {
		return err
	}
	return s.copy(resp.Body, cr.Len())
}

// parts writes a multipart/byteranges reply, each part checked first.
func (s *session) parts(resp *http.Response, mr *multipart.Reader, rs []bits.Range, want []span, v bits.Validator) error {
	for i, w := range want {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return invalidReply(fmt.Errorf("the reply has %d part(s) for %d ranges", i, len(want)))
		}
		if err != nil {
			return transportErr(bits.BG_E_CONNECTION_CLOSED, true, err)
		}
		cr, err := httprange.ParseContentRange(p.Header.Get("Content-Range"))
		if err != nil {
			return invalidReply(err)
		}
		if err := s.checkPart(cr, rs, w, true); err != nil {
			return err
		}
		if i == 0 {
			if err := s.sizedRanges(v); err != nil {
				return err
			}
		}
		if err := s.copy(p, cr.Len()); err != nil {
			return err
		}
	}
	return nil
}

// checkPart holds a reply part to the span asked for: a range outside the
// file is BG_E_INVALID_RANGE, any other difference (merged, reordered,
// shortened) BG_E_INVALID_SERVER_RESPONSE.
func (s *session) checkPart(cr httprange.ContentRange, rs []bits.Range, w span, single bool) error {
	if cr.Total >= 0 {
		if _, err := resolve(rs, cr.Total); err != nil {
			return err
		}
	}
	if !single || cr.Unsatisfied() || cr.Start != w.start || cr.End != w.end {
		return invalidReply(fmt.Errorf("the server answered bytes %d-%d where bytes %d-%d were asked for (merged or reordered ranges)", cr.Start, cr.End, w.start, w.end))
	}
	return nil
}

// sizedRanges reports the version of the ranges (its size: their sum).
func (s *session) sizedRanges(v bits.Validator) error {
	s.want = v
	return s.sized(v)
}
