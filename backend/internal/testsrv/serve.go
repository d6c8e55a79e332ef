package testsrv

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// chunk is the write size of bodies, so cuts and stalls land mid-stream.
const chunk = 32 << 10

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w}
	rec := Request{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"),
		IfRange: r.Header.Get("If-Range"), Host: r.Host, Proxied: r.URL.Host != "", Header: r.Header.Clone()}
	s.mu.Lock()
	entry := &logEntry{}
	s.log = append(s.log, entry)
	// Deferred so that cut bodies (which panic out of the handler) are logged too.
	defer func() {
		rec.Status, rec.Sent = cw.status, cw.n
		s.mu.Lock()
		entry.Request, entry.done = rec, true
		s.mu.Unlock()
	}()
	e, ok := s.files[r.URL.Path]
	if !ok {
		s.mu.Unlock()
		http.NotFound(cw, r)
		return
	}
	e.requests++
	if e.ChangeAfter > 0 && e.requests == e.ChangeAfter+1 {
		e.version++
	}
	f, version := e.File, e.version
	body, etag := e.body(r.URL.Path, version), e.etag(r.URL.Path, version)
	fail := e.requests <= f.FailTimes
	cut := r.Method == http.MethodGet && f.CutAfter > 0 && (!f.CutOnce || e.cuts == 0)
	if cut {
		e.cuts++
	}
	pace, getN, busy := f.RateLimit, 0, false
	if r.Method == http.MethodGet {
		e.gets++
		getN = e.gets
		if f.SlowRequest == getN {
			pace = f.SlowRate
		}
		busy = f.MaxParallel > 0 && e.inflight >= f.MaxParallel
		if !busy {
			e.inflight++
			defer func() {
				s.mu.Lock()
				e.inflight--
				s.mu.Unlock()
			}()
		}
	}
	s.mu.Unlock()
	rec.Version = version

	switch {
	case f.Status != 0:
		http.Error(cw, http.StatusText(f.Status), f.Status)
		return
	case busy:
		st := f.ParallelStatus
		if st == 0 {
			st = http.StatusServiceUnavailable
		}
		http.Error(cw, "too many connections", st)
		return
	case fail:
		st := f.FailStatus
		if st == 0 {
			st = http.StatusServiceUnavailable
		}
		http.Error(cw, http.StatusText(st), st)
		return
	case f.RedirectLoop:
		http.Redirect(cw, r, r.URL.Path, http.StatusFound)
		return
	case f.RedirectTo != "":
		http.Redirect(cw, r, f.RedirectTo, http.StatusFound)
		return
	case r.Method == http.MethodHead && f.NoHead, r.Method != http.MethodHead && r.Method != http.MethodGet:
		cw.Header().Set("Allow", "GET")
		http.Error(cw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	lm := lastModified(version)
	hdr := cw.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("ETag", etag)
	hdr.Set("Last-Modified", lm)
	size := int64(len(body))
	start, end, status := int64(0), size-1, http.StatusOK
	if !f.NoRange {
		hdr.Set("Accept-Ranges", "bytes")
	}
	noRange := f.NoRange || (f.NoRangeAfter > 0 && getN > f.NoRangeAfter)
	if !noRange && r.Method == http.MethodGet && r.Header.Get("Range") != "" {
		if ifRangeMatches(r.Header.Get("If-Range"), etag, lm, f) {
			rh := r.Header.Get("Range")
			if f.MergeRanges {
				rh = mergeRanges(rh)
			}
			start, end, status = parseRange(rh, size)
		}
	}
	switch status {
	case http.StatusRequestedRangeNotSatisfiable:
		hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		http.Error(cw, "range not satisfiable", status)
		return
	case http.StatusPartialContent:
		crStart := start
		if f.WrongRange || (f.WrongRangeAfter > 0 && getN > f.WrongRangeAfter) {
			crStart++
		}
		total := strconv.FormatInt(size, 10)
		if f.NoLength {
			total = "*"
		}
		hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%s", crStart, end, total))
	}
	if !f.NoLength {
		hdr.Set("Content-Length", strconv.FormatInt(end-start+1, 10))
	}
	cw.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if f.NoLength {
		cw.Flush() // forces chunked encoding even for small bodies
	}
	s.writeBody(cw, r, body[start:end+1], f, cut, pace)
}

// writeBody sends data, cutting or stalling it as f says, at pace bytes
// per second (0: as fast as it goes).
func (s *Server) writeBody(w *countingWriter, r *http.Request, data []byte, f File, cut bool, pace int64) {
	limit, stall := int64(len(data)), false
	if cut && f.CutAfter < limit {
		limit = f.CutAfter
	}
	if f.StallAfter > 0 && f.StallAfter < limit {
		limit, stall, cut = f.StallAfter, true, false
	}
	began := time.Now()
	for off := int64(0); off < limit; {
		n := min(limit-off, chunk)
		if pace > 0 {
			n = min(n, max(pace/100, 1024)) // small steps keep the pace smooth (and little in flight)
			if wait := time.Duration(float64(off) / float64(pace) * float64(time.Second)); wait > time.Since(began) {
				w.Flush()
				select {
				case <-time.After(wait - time.Since(began)):
				case <-r.Context().Done():
					return
				case <-s.quit:
					return
				}
			}
		}
		if _, err := w.Write(data[off : off+n]); err != nil {
			return
		}
		off += n
	}
	w.Flush()
	switch {
	case stall:
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
	case cut && limit < int64(len(data)):
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}
}

// ifRangeMatches is the If-Range rule (RFC 9110 §13.1.5) with f's defects:
// no If-Range matches; an ETag matches only as a quoted entity-tag.
func ifRangeMatches(ir, etag, lm string, f File) bool {
	switch {
	case ir == "":
		return true
	case f.IgnoreIfRange:
		return false
	case ir == lm:
		return true
	}
	return strings.HasPrefix(ir, `"`) && ir == etag
}

// mergeRanges turns "bytes=a-b,c-d,…" into the one range that covers them
// all ("bytes=min-max").
func mergeRanges(h string) string {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || !strings.Contains(spec, ",") {
		return h
	}
	lo, hi := int64(-1), int64(-1)
	for _, item := range strings.Split(spec, ",") {
		a, b, _ := strings.Cut(strings.TrimSpace(item), "-")
		s, err1 := strconv.ParseInt(a, 10, 64)
		e, err2 := strconv.ParseInt(b, 10, 64)
		if err1 != nil || err2 != nil {
			return h
		}
		if lo < 0 || s < lo {
			lo = s
		}
		hi = max(hi, e)
	}
	return fmt.Sprintf("bytes=%d-%d", lo, hi)
}

// parseRange reads one "bytes=a-b", "bytes=a-" or "bytes=-n" range. A range
// it does not understand (or several) is ignored, as RFC 9110 allows.
func parseRange(h string, size int64) (start, end int64, status int) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	a, b, ok2 := strings.Cut(spec, "-")
	if !ok || !ok2 || strings.Contains(spec, ",") {
		return 0, size - 1, http.StatusOK
	}
	if a == "" { // suffix range
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, size - 1, http.StatusOK
		}
		if size == 0 {
			return 0, 0, http.StatusRequestedRangeNotSatisfiable
		}
		return max(size-n, 0), size - 1, http.StatusPartialContent
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, size - 1, http.StatusOK
	}
	end = size - 1
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return 0, size - 1, http.StatusOK
		}
		end = min(end, size-1)
	}
	if start >= size {
		return 0, 0, http.StatusRequestedRangeNotSatisfiable
	}
	return start, end, http.StatusPartialContent
}

// countingWriter records the status and the body bytes sent.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
