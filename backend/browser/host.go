package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ferry/backend/api"
	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/browser/manifests"
	"ferry/backend/clock"
	"ferry/backend/engine"
	"ferry/backend/home"
	"ferry/backend/ops"
)

// Engine is what the host needs of the engine: api.Client's calls.
type Engine interface {
	Call(ctx context.Context, op string, r ops.Request) (json.RawMessage, error)
	Events(ctx context.Context) (*api.EventStream, error)
}

// Host answers one browser over stdin/stdout. Every request gets one
// answer frame with its id; "watch" then pushes the job list as it changes.
type Host struct {
	// Connect reaches the engine, starting one when none runs (as every
	// command does); its error is what the extension shows.
	Connect func(ctx context.Context) (Engine, error)
	// Exe is ferry itself: a job's notify command line runs `Exe complete JOB`.
	Exe string
	// Home is FERRY_HOME (the last contact and the naming lock live there).
	Home string
	// OpenWindow opens Ferry's window (the popup's link).
	OpenWindow func() error
	Clock      clock.Clock
	Log        *slog.Logger

	mu  sync.Mutex // one frame at a time on out
	out io.Writer

	engMu sync.Mutex // watch and the requests connect at once
	eng   Engine
}

// Request is one message from the extension.
type Request struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	// download:
	Name    string            `json:"name,omitempty"`
	Items   []Item            `json:"items,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Item is one file of a download: its URL and the name the browser
// suggests (empty: from the URL).
type Item struct {
	URL      string `json:"url"`
	Filename string `json:"filename,omitempty"`
}

// Reply is one message to the extension.
type Reply struct {
	ID    int64       `json:"id"`
	OK    bool        `json:"ok"`
	Error *ErrorBody  `json:"error,omitempty"`
	Push  bool        `json:"push,omitempty"` // a watch update, not an answer
	Data  interface{} `json:"data,omitempty"`
}

// ErrorBody is a failure as the extension shows it (name and sentence).
type ErrorBody = wire.ErrorBody

// JobView is a job as the popup shows it.
type JobView struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	State            string `json:"state"`
	BytesTotal       int64  `json:"bytesTotal"`
	BytesTransferred int64  `json:"bytesTransferred"`
	FilesTotal       int    `json:"filesTotal"`
	FilesTransferred int    `json:"filesTransferred"`
	Error            string `json:"error,omitempty"`
}

// maxJobsShown bounds the popup's list so that a frame stays far below MaxFrame.
const maxJobsShown = 100

// callTimeout bounds one request's calls to the engine.
const callTimeout = 60 * time.Second

// Serve answers requests from in until it closes. A frame the host cannot
// read (too large, not JSON) ends the session after an error frame: the
// stream cannot be trusted to be in step any more.
func (h *Host) Serve(ctx context.Context, family manifests.Family, in io.Reader, out io.Writer) error {
	h.out = out
	if h.Clock == nil {
		h.Clock = clock.Real{}
	}
	if h.Log == nil {
		h.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	recorded := false
	for {
		raw, err := ReadFrame(in)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			_ = h.send(Reply{Error: wire.Body(bits.Errorf(bits.E_INVALIDARG, "%v", err))})
			return err
		}
		if !recorded {
			// The status page's "connected": any message counts.
			if err := manifests.RecordContact(h.Home, family, h.Clock.Now()); err != nil {
				h.Log.Warn("could not record the contact", "err", err)
			}
			recorded = true
		}
		var req Request
		if err := json.Unmarshal(raw, &req); err != nil {
			_ = h.send(Reply{Error: wire.Body(bits.Errorf(bits.E_INVALIDARG, "the message is not a request: %v", err))})
			continue
		}
		if req.Type == "watch" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.watch(ctx, req.ID)
			}()
			continue
		}
		data, err := h.handle(ctx, req)
		rep := Reply{ID: req.ID, OK: err == nil, Data: data}
		if err != nil {
			h.Log.Info("request failed", "type", req.Type, "err", err)
			rep.Data, rep.Error = nil, wire.Body(err)
		}
		if err := h.send(rep); err != nil {
			return err
		}
	}
}

func (h *Host) send(r Reply) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	err := WriteFrame(h.out, r)
	if errors.Is(err, ErrFrameTooLarge) {
		// Say so in a frame that fits, rather than leave the caller waiting.
		err = WriteFrame(h.out, Reply{ID: r.ID, Error: wire.Body(bits.Errorf(bits.E_FAIL, "the answer is over 1 MiB"))})
	}
	return err
}

func (h *Host) engine(ctx context.Context) (Engine, error) {
	h.engMu.Lock()
	defer h.engMu.Unlock()
	if h.eng != nil {
		return h.eng, nil
	}
	e, err := h.Connect(ctx)
	if err != nil {
		return nil, err
	}
	h.eng = e
	return e, nil
}

func (h *Host) handle(ctx context.Context, req Request) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	switch req.Type {
	case "hello":
		if _, err := h.engine(ctx); err != nil {
			return nil, err
		}
		return map[string]string{"host": manifests.HostName}, nil
	case "download":
		return h.download(ctx, req)
	case "jobs":
		e, err := h.engine(ctx)
		if err != nil {
			return nil, err
		}
		return jobs(ctx, e)
	case "open":
		if h.OpenWindow == nil {
			return nil, bits.Errorf(bits.E_NOTIMPL, "this host cannot open the window")
		}
		return nil, h.OpenWindow()
	}
	return nil, bits.Errorf(bits.E_INVALIDARG, "unknown request type %q", req.Type)
}

func jobs(ctx context.Context, e Engine) ([]JobView, error) {
	var list []bits.JobInfo
	raw, err := e.Call(ctx, "list", ops.Request{})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("decode the job list: %w", err)
	}
	out := []JobView{}
	for _, j := range list {
		if len(out) == maxJobsShown {
			break
		}
		v := JobView{ID: j.ID, Name: truncate(j.DisplayName, 200), State: j.State.String(),
			BytesTotal: j.Progress.BytesTotal, BytesTransferred: j.Progress.BytesTransferred,
			FilesTotal: j.Progress.FilesTotal, FilesTransferred: j.Progress.FilesTransferred}
		if j.Error != nil {
			v.Error = truncate(j.Error.Name+": "+j.Error.Description, 300)
		}
		out = append(out, v)
	}
	return out, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// watch pushes the job list now and after every change, at most every
// quarter second, until the popup closes the pipe.
func (h *Host) watch(ctx context.Context, id int64) {
	fail := func(err error) { _ = h.send(Reply{ID: id, Error: wire.Body(err)}) }
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	e, err := h.engine(cctx)
	cancel()
	if err != nil {
		fail(err)
		return
	}
	stream, err := e.Events(ctx)
	if err != nil {
		fail(err)
		return
	}
	defer stream.Close()
	changed := make(chan struct{}, 1)
	go func() {
		defer close(changed)
		for {
			if _, _, err := stream.Next(); err != nil {
				return
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()
	first := true
	for {
		lctx, cancel := context.WithTimeout(ctx, callTimeout)
		list, err := jobs(lctx, e)
		cancel()
		if err != nil {
			fail(err)
			return
		}
		if h.send(Reply{ID: id, OK: true, Push: !first, Data: list}) != nil {
			return
		}
		first = false
		t := h.Clock.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				fail(bits.Errorf(bits.ERROR_SERVICE_NOT_ACTIVE, "the engine stopped"))
				return
			}
		}
	}
}

// forwarded are the request headers a download keeps: the session
// (Cookie, Authorization, sealed at rest by the engine) and what servers
// check it against.
var forwarded = []string{"Cookie", "Authorization", "Referer", "User-Agent"}

// Download is the answer to a download request.
type Download struct {
	Job   string   `json:"job"`
	Files []string `json:"files"`
}

func (h *Host) download(ctx context.Context, req Request) (any, error) {
	if len(req.Items) == 0 {
		return nil, bits.Errorf(bits.E_INVALIDARG, "a download needs at least one URL")
	}
	for _, it := range req.Items {
		u, err := url.Parse(it.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bits.Errorf(bits.E_INVALIDARG, "%q is not an http:// or https:// URL", it.URL)
		}
	}
	var headers []string
	for name, v := range req.Headers {
		canon := http.CanonicalHeaderKey(name)
		ok := false
		for _, f := range forwarded {
			ok = ok || f == canon
		}
		if !ok {
			return nil, bits.Errorf(bits.E_INVALIDARG, "the header %q is not one Ferry takes from the browser (%s)", name, strings.Join(forwarded, ", "))
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, bits.Errorf(bits.E_INVALIDARG, "the %s header holds a line break", canon)
		}
		if v != "" {
			headers = append(headers, canon+": "+v)
		}
	}
	e, err := h.engine(ctx)
	if err != nil {
		return nil, err
	}
	var dir string
	raw, err := e.Call(ctx, "config get", ops.Request{Args: []string{engine.KeyDownloadDir}})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &dir); err != nil || !filepath.IsAbs(dir) {
		return nil, bits.Errorf(bits.E_FAIL, "the engine's %s setting is not a folder: %s", engine.KeyDownloadDir, raw)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, bits.Errorf(bits.E_ACCESSDENIED, "cannot create the download folder: %v", err)
	}
	// Hosts started for two downloads at once must not pick one name.
	unlock, err := h.lockNames(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	taken, err := activeLocalNames(ctx, e)
	if err != nil {
		return nil, err
	}
	name := req.Name
	if name == "" {
		name = "browser download"
	}
	var job bits.JobInfo
	raw, err = e.Call(ctx, "create", ops.Request{Args: []string{truncate(name, 200)}, Flags: map[string]string{"download": ""}})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &job); err != nil {
		return nil, fmt.Errorf("decode the new job: %w", err)
	}
	res := Download{Job: job.ID}
	type step struct {
		op   string
		args []string
	}
	steps := []step{{"setpriority", []string{job.ID, "foreground"}}}
	if len(headers) > 0 {
		steps = append(steps, step{"setcustomheaders", append([]string{job.ID}, headers...)})
	}
	for _, it := range req.Items {
		local := uniqueName(dir, fileName(it), taken)
		taken[local] = true
		res.Files = append(res.Files, local)
		steps = append(steps, step{"addfile", []string{job.ID, it.URL, local}})
	}
	// The engine completes the job once transferred: its files appear under
	// their names without the browser waiting (BITS' notify command line).
	notifyFlags := fmt.Sprint(uint32(bits.NotifyJobTransferred | bits.NotifyJobModification | bits.NotifyFileTransferred))
	steps = append(steps,
		step{"setnotifyflags", []string{job.ID, notifyFlags}},
		step{"setnotifycmdline", []string{job.ID, h.Exe, "complete " + job.ID}},
		step{"resume", []string{job.ID}})
	for _, s := range steps {
		if _, err := e.Call(ctx, s.op, ops.Request{Args: s.args}); err != nil {
			// No half-made job left behind.
			if _, cerr := e.Call(context.WithoutCancel(ctx), "cancel", ops.Request{Args: []string{job.ID}}); cerr != nil {
				h.Log.Warn("could not cancel the half-made job", "job", job.ID, "err", cerr)
			}
			return nil, err
		}
	}
	return res, nil
}

// lockNames serialises name choices between hosts (FERRY_HOME/browser.lock).
func (h *Host) lockNames(ctx context.Context) (func(), error) {
	for {
		l, held, err := home.TryLock(filepath.Join(h.Home, "browser.lock"))
		if err != nil {
			return nil, bits.Errorf(bits.E_FAIL, "%v", err)
		}
		if !held {
			return func() { _ = l.Release() }, nil
		}
		t := h.Clock.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, bits.Errorf(bits.ERROR_TIMEOUT, "another download kept the naming lock: %v", ctx.Err())
		case <-t.C():
		}
	}
}

// activeLocalNames are the files the engine's jobs will write.
func activeLocalNames(ctx context.Context, e Engine) (map[string]bool, error) {
	var list []bits.JobInfo
	raw, err := e.Call(ctx, "list", ops.Request{Flags: map[string]string{"verbose": ""}})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("decode the job list: %w", err)
	}
	taken := map[string]bool{}
	for _, j := range list {
		for _, f := range j.Files {
			taken[f.LocalName] = true
		}
	}
	return taken, nil
}

// fileName is the name a download is saved under: the browser's
// suggestion, else the URL's last segment, reduced to a plain file name.
func fileName(it Item) string {
	name := it.Filename
	if name == "" {
		if u, err := url.Parse(it.URL); err == nil {
			name = u.Path
			if p, err := url.PathUnescape(u.Path); err == nil {
				name = p
			}
		}
	}
	return SafeName(name)
}

// SafeName keeps the last element of a path and drops what no file system
// takes (separators, control characters, Windows' reserved characters), so
// that a page cannot name a file outside the download folder.
func SafeName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	if name == "" {
		name = "download"
	}
	return truncate(name, 200)
}

// uniqueName is dir/name, or "name (1).ext", "name (2).ext"… when a file of
// that name exists or a job will write it: never a user's file replaced.
func uniqueName(dir, name string, taken map[string]bool) string {
	stem, ext := splitExt(name)
	for i := 0; ; i++ {
		n := name
		if i > 0 {
			n = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) && !taken[p] {
			return p
		}
	}
}

// splitExt keeps a double extension such as .tar.gz whole.
func splitExt(name string) (string, string) {
	ext := filepath.Ext(name)
	if ext == name {
		return name, ""
	}
	stem := strings.TrimSuffix(name, ext)
	if inner := filepath.Ext(stem); strings.EqualFold(inner, ".tar") && inner != stem {
		return strings.TrimSuffix(stem, inner), inner + ext
	}
	return stem, ext
}
