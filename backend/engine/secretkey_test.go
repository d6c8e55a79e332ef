package engine

import (
	"strings"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/internal/testsrv"
)

// A key that is present but not the one that sealed the job's secrets: the
// job is reported (Unreadable, Secrets), its sealed secrets are kept, it
// stops in ERROR with NTE_BAD_KEY before any request (it used to go out
// without its credentials and fail with a 401), and the right key opens
// them again after a restart.
func TestSecretsAnotherKeyCannotOpenAreKeptAndReported(t *testing.T) {
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 3000})
	right := newTestBox(t)
	h := newHarness(t, func(c *Config) { c.Secrets = right })
	id := h.job("sealed", srv.URL("/f"), h.path("f"))
	h.must(h.m.SetCredentials(id, bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "alice", Password: "pw"}))
	h.must(h.m.SetCustomHeaders(id, "X-Plain: 1\r\nCookie: s=1"))

	h.cfg.Secrets = newTestBox(t) // another key
	h.restart()
	recs := h.m.Unreadable()
	if len(recs) != 1 || recs[0].Kind != KindCredentials || recs[0].Key != id || !strings.Contains(recs[0].Reason, "not the key that sealed them") {
		t.Fatalf("Unreadable = %+v", recs)
	}
	if s := h.m.Secrets(); s.Key != "present" || len(s.Jobs) != 1 || s.Jobs[0] != id {
		t.Fatalf("Secrets = %+v", s)
	}
	h.must(h.m.Resume(id))
	in := h.waitState(id, bits.StateError)
	if in.Error == nil || in.Error.Code != bits.NTE_BAD_KEY || in.Error.Context != bits.ContextGeneralQueueManager {
		t.Fatalf("error %+v", in.Error)
	}
	if n := len(srv.Requests("/f")); n != 0 {
		t.Fatalf("%d requests went out without the job's credentials", n)
	}

	h.cfg.Secrets = right
	h.restart()
	if recs := h.m.Unreadable(); len(recs) != 0 {
		t.Fatalf("the right key is back, yet Unreadable = %+v", recs)
	}
	h.must(h.m.Resume(id))
	h.waitState(id, bits.StateTransferred)
	reqs := srv.Requests("/f")
	if len(reqs) == 0 || !strings.HasPrefix(reqs[0].Header.Get("Authorization"), "Basic ") || reqs[0].Header.Get("Cookie") != "s=1" {
		t.Fatalf("the credentials and sealed headers did not reach the server: %+v", reqs)
	}
}
