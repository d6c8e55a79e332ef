package ops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/bits"
)

func TestTableIsComplete(t *testing.T) {
	groups := map[string]bool{GroupJobs: true, GroupGet: true, GroupSet: true, GroupEngine: true}
	for _, op := range All() {
		if op.Name != strings.ToLower(op.Name) || op.Summary == "" || !groups[op.Group] {
			t.Errorf("%s: name, summary or group missing", op.Name)
		}
		if !strings.HasPrefix(op.Example, "ferry "+op.Name) {
			t.Errorf("%s: example %q", op.Name, op.Example)
		}
		if op.Prints && op.Text == nil {
			t.Errorf("%s prints data but has no text form", op.Name)
		}
		if op.Run == nil {
			t.Errorf("%s has no handler", op.Name)
		}
		if o, ok := Lookup(strings.ToUpper(op.Name)); !ok || o != op {
			t.Errorf("Lookup(%s)", op.Name)
		}
	}
}

func TestUsageAndArgRange(t *testing.T) {
	add, _ := Lookup("addfile")
	if got := add.Usage(); got != "addfile JOB REMOTE LOCAL [--sha256 HEX]" {
		t.Fatalf("usage %q", got)
	}
	np, _ := Lookup("setnotifycmdline")
	if min, max := np.ArgRange(); min != 2 || max != 3 {
		t.Fatalf("setnotifycmdline range %d..%d", min, max)
	}
	if got := np.Usage(); got != "setnotifycmdline JOB PROGRAM [PARAMETERS]" {
		t.Fatalf("usage %q", got)
	}
	h, _ := Lookup("setcustomheaders")
	if min, max := h.ArgRange(); min != 1 || max != -1 {
		t.Fatalf("setcustomheaders range %d..%d", min, max)
	}
	if h.CheckArgs(0) == "" || h.CheckArgs(7) != "" {
		t.Fatal("CheckArgs")
	}
}

func TestInvokeRejectsBadRequests(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		op string
		r  Request
	}{
		{"nosuchop", Request{}},
		{"getstate", Request{}},
		{"getstate", Request{Args: []string{"a", "b"}}},
		{"list", Request{Flags: map[string]string{"bogus": "true"}}},
	} {
		if _, err := Invoke(ctx, &Env{}, c.op, c.r); bits.CodeOf(err) != bits.E_INVALIDARG {
			t.Errorf("Invoke(%s, %v) = %v, want E_INVALIDARG", c.op, c.r, err)
		}
	}
}

func TestParsers(t *testing.T) {
	for in, want := range map[string]bits.NotifyFlags{"3": 3, "010": 10, "0x10": 16, "0X1b": 0x1b} {
		if got, err := parseNotifyFlags(in); err != nil || got != want {
			t.Errorf("parseNotifyFlags(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseNotifyFlags("0x"); bits.CodeOf(err) != bits.E_INVALIDARG {
		t.Error("0x accepted")
	}
	if f, err := parseMask("security flags", " 0x80E "); err != nil || f != 0x80E {
		t.Errorf("parseMask = %v, %v", f, err)
	}
	for _, bad := range []string{"-1", "0x100000000", "4294967296", "lots", ""} {
		if _, err := parseMask("security flags", bad); bits.CodeOf(err) != bits.E_INVALIDARG {
			t.Errorf("parseMask(%q) accepted", bad)
		}
	}
	if _, err := parseTarget("gateway"); bits.CodeOf(err) != bits.BG_E_INVALID_AUTH_TARGET {
		t.Error("bad target accepted")
	}
	if s, err := parseScheme("NTLM"); err != nil || s != bits.AuthNTLM {
		t.Errorf("parseScheme = %v %v", s, err)
	}
	if u, err := parseProxyUsage("no-proxy"); err != nil || u != bits.ProxyNoProxy {
		t.Errorf("parseProxyUsage = %v %v", u, err)
	}
	list := filepath.Join(t.TempDir(), "list")
	os.WriteFile(list, []byte("# comment\n\nhttp://h/a /tmp/a\n\"http://h/b c\" '/tmp/b c' "+strings.Repeat("ab", 32)+"\n"), 0o644)
	specs, err := readFileSet(list, 200)
	if err != nil || len(specs) != 2 || specs[1].RemoteName != "http://h/b c" || specs[1].LocalName != "/tmp/b c" || specs[1].SHA256 == "" {
		t.Fatalf("readFileSet = %+v, %v", specs, err)
	}
	os.WriteFile(list, []byte("only-one-field\n"), 0o644)
	if _, err := readFileSet(list, 200); bits.CodeOf(err) != bits.E_INVALIDARG {
		t.Fatalf("a one-field line was accepted: %v", err)
	}
}
