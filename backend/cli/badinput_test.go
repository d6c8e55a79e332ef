//go:build unix

package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"ferry/backend/api"
	"ferry/backend/api/wire"
	"ferry/backend/ops"
)

// unknownJob is an id no job has.
const unknownJob = "{11111111-2222-3333-4444-555555555555}"

// badInput is one generated bad command line or API call and what it must
// get: exit 2 (usage) or exit 1 with a BITS error line; over the API, an
// error body whose status follows its code.
type badInput struct {
	args []string // a command line; nil for an API call
	body string   // an API call's body
	exit int      // the command line's exit code (1 or 2)
	name string   // the error name wanted ("" any)
}

// badInputs generates the corpus from the operations table: every
// operation with too few and too many arguments, an unknown flag, an
// unknown job, and bad values for the setters on a real job; unknown
// commands, text that is not UTF-8, bad URLs and local paths; and over the
// API, bodies that are not calls.
func badInputs(job, upJob, dir string) []badInput {
	var out []badInput
	cli := func(exit int, name string, args ...string) {
		for _, a := range args {
			if strings.ContainsRune(a, 0) {
				return // no command line can carry a NUL (the API call does)
			}
		}
		out = append(out, badInput{args: args, exit: exit, name: name})
	}
	call := func(name, op string, args []string, flags map[string]string) {
		for _, a := range args {
			if !utf8.ValidString(a) {
				return // JSON would carry U+FFFD: a valid name (the command line is refused)
			}
		}
		b, _ := json.Marshal(map[string]any{"op": op, "args": args, "flags": flags})
		out = append(out, badInput{body: string(b), name: name})
	}
	fill := func(n int, first string) []string {
		a := make([]string, n)
		for i := range a {
			a[i] = "x"
		}
		if n > 0 && first != "" {
			a[0] = first
		}
		return a
	}
	for _, op := range ops.All() {
		min, max := op.ArgRange()
		takesJob := len(op.Args) > 0 && op.Args[0].Name == "JOB"
		words := strings.Fields(op.Name) // "config set" is two words on a command line
		line := func(args ...string) []string { return append(append([]string{}, words...), args...) }
		if min > 0 {
			cli(2, "", line(fill(min-1, job)...)...)
			call("E_INVALIDARG", op.Name, fill(min-1, job), nil)
		}
		if max >= 0 {
			cli(2, "", line(fill(max+1, unknownJob)...)...)
			call("E_INVALIDARG", op.Name, fill(max+1, unknownJob), nil)
		}
		cli(2, "", line(append(fill(min, unknownJob), "--no-such-flag")...)...)
		call("E_INVALIDARG", op.Name, fill(min, unknownJob), map[string]string{"no-such-flag": "1"})
		if takesJob && min > 0 {
			// Arguments after the job may be refused before the job is looked up.
			name := ""
			if min == 1 {
				name = "BG_E_NOT_FOUND"
			}
			cli(1, name, line(fill(min, unknownJob)...)...)
			call(name, op.Name, fill(min, unknownJob), nil)
			bad := fill(min, job)
			bad[0] = "job\xff"
			cli(1, "E_INVALIDARG", line(bad...)...)
		}
	}
	// Job references that name no job, for every operation on a job.
	for _, op := range ops.All() {
		min, _ := op.ArgRange()
		if len(op.Args) == 0 || op.Args[0].Name != "JOB" || min == 0 {
			continue
		}
		for _, ref := range []string{"{not-a-guid}", "00000000-0000-0000-0000-000000000000", strings.Repeat("j", 300), job + "x", "alpha2", "{}"} {
			args := fill(min, ref)
			cli(1, "", append(strings.Fields(op.Name), args...)...)
			call("", op.Name, args, nil)
		}
	}
	for _, w := range []string{"frobnicate", "/frobnicate", "CREATEX", "--", "-x", "addfiles", "get", "set", "configure", "help-me"} {
		cli(2, "", w, job)
	}
	for _, w := range []string{"frobnicate", "", " list", "list ", "config\x00", "💥"} {
		call("E_INVALIDARG", w, nil, nil)
	}
	// Bad values for the setters, on a real job: refused, nothing changed.
	values := map[string][]string{
		"setpriority":          {"urgent", "", "0", "FOREGROUNDS", "high;low", "\u202ehigh"},
		"setminretrydelay":     {"-1", "abc", "99999999999999999999", "1.5", "", "0x10"},
		"setnoprogresstimeout": {"-5", "x", "1e9", "", "18446744073709551616"},
		"setmaxdownloadtime":   {"-1", "NaN", "", " ", "+-1"},
		"setnotifyflags":       {"0x", "zz", "-1", "0x1FFFFFFFF", "4294967296", "", "1,2"},
		"setdisplayname":       {strings.Repeat("n", 257), "bad\xffname", "nul\x00"},
		"setdescription":       {strings.Repeat("d", 1025), "bad\xfe", "nul\x00"},
		"setdynamic":           {"maybe", "", "2", "yes please"},
		"sethttpmethod":        {"", "GET POST", "G\nET", "PUT\r\nX: y", strings.Repeat("M", 300)},
		"setcustomheaders":     {"NoColon", ": empty", "X: a\x00b", "Bad Name: x", strings.Repeat("H", 20000) + ": v"},
		"setreplyfilename":     {"relative/reply", "", "/no/such/dir/reply"},
		"setproperty":          {"NOSUCH", "CONNECTIONS"},
		"getproperty":          {"NOSUCH", "", "connections-x"},
		"replaceremoteprefix":  {""},
	}
	for op, vs := range values {
		for _, v := range vs {
			name := "" // each setter has its own refusal (E_INVALIDARG, BG_E_STRING_TOO_LONG, …)
			args := []string{job, v}
			switch op {
			case "setproperty":
				args = []string{job, v, "bad-value"}
			case "replaceremoteprefix":
				args = []string{job, v, "http://x/"}
			}
			cli(1, name, append([]string{op}, args...)...)
			call(name, op, args, nil)
		}
	}
	// A malformed OVERRIDE list is accepted, as BITS does, and fails the job
	// at run time (BG_E_INVALID_PROXY_INFO: TestProxyListCheckedAtRunTime);
	// a list with any other usage is refused at once.
	for _, v := range [][]string{{"bogus"}, {"override"}, {"override", "", ""}, {"autodetect", "bad=x:1"}, {"no_proxy", "p:99999"},
		{"preconfig", "p:80", "a*b"}, {"autodetect", "http://[::1"}, {"preconfig", "p:80"}, {"no_proxy", "p:1", "b"}, {"PRECONFIG", "p:1 q:2", "*."}} {
		cli(1, "", append([]string{"setproxysettings", job}, v...)...)
		call("", "setproxysettings", append([]string{job}, v...), nil)
	}
	for _, v := range [][]string{{"bogus", "basic", "u", "p"}, {"server", "bogus", "u", "p"}, {"server", "basic", "", "p"}, {"server", "basic", "u", ""},
		{"proxy", "digest", "", ""}, {"SERVER", "kerberos", "u", "p"}} {
		cli(1, "", append([]string{"setcredentials", job}, v...)...)
		call("", "setcredentials", append([]string{job}, v...), nil)
	}
	local := filepath.Join(dir, "new.bin")
	for _, r := range []string{"", "ftp://h/x", "javascript:alert(1)", "http:///x", "http://h:99999999/x", "HTTP://[::1", "relative/x", "http://u@h/x",
		"file://h/a*b", "http://h/\x00", "data:,hello", "gopher://h/", "\\\\server", strings.Repeat("h", 2300), "http://h/%zz"} {
		cli(1, "", "addfile", job, r, local)
		call("", "addfile", []string{job, r, local}, nil)
	}
	for _, l := range []string{"", "relative", ".", "..", filepath.Join(dir, "nodir", "x"), filepath.Join(dir, "x\x00y"), dir, "/dev/null",
		filepath.Join(dir, strings.Repeat("x", 300)), "~/x", filepath.Join(dir, "link")} {
		cli(1, "", "addfile", job, "http://127.0.0.1:9/n", l)
		call("", "addfile", []string{job, "http://127.0.0.1:9/n", l}, nil)
	}
	for _, s := range []string{"zz", strings.Repeat("a", 63), strings.Repeat("g", 64), "sha256:" + strings.Repeat("a", 64)} {
		cli(1, "E_INVALIDARG", "addfile", job, "http://127.0.0.1:9/n", local, "--sha256", s)
	}
	for _, list := range []string{"", "one-field\n", "a b c d\n", "a 'b\n", "http://h/x relative\n", "\xff\xfe\n", "http://127.0.0.1:9/a " + local + "\nftp://x " + local + "2\n"} {
		p := filepath.Join(dir, fmt.Sprintf("list-%x.txt", len(out)))
		_ = os.WriteFile(p, []byte(list), 0o600)
		cli(1, "", "addfileset", job, p)
		call("", "addfileset", []string{job, p}, nil)
	}
	for _, p := range []string{filepath.Join(dir, "no-such-list"), dir, "/dev/zero", "relative.txt"} {
		cli(1, "", "addfileset", job, p)
	}
	// An upload job takes one file, and only a real one.
	cli(1, "", "addfile", upJob, "http://127.0.0.1:9/up2", filepath.Join(dir, "up.bin"))
	cli(1, "", "addfile", upJob, "http://127.0.0.1:9/up3", filepath.Join(dir, "missing.bin"))
	for _, c := range [][]string{{"setpriority", job, "high", "low"}, {"create", "--type=bogus", "x"},
		{"wait", job, "--timeout"}, {"list", "--verbose=yes"}, {"info", job, "--verbose", "extra"}} {
		cli(2, "", c...)
	}
	cli(1, "E_INVALIDARG", "create", "--download", "--upload", "x")
	cli(1, "E_INVALIDARG", "wait", job, "--timeout", "soon")
	cli(1, "E_INVALIDARG", "wait", job, "--timeout", "-1")
	for _, k := range []string{"nosuchkey", "", "timeSlice ", "time_slice", "bandwidth"} {
		cli(1, "E_INVALIDARG", "config", "set", k, "10")
		call("E_INVALIDARG", "config set", []string{k, "10"}, nil)
		cli(1, "E_INVALIDARG", "config", "get", k)
	}
	for _, kv := range [][]string{{"timeSlice", "0"}, {"timeSlice", "86401"}, {"timeSlice", "abc"}, {"maxJobsPerUser", "-1"}, {"maxFilesPerJob", "0"},
		{"bandwidth.background", "-2"}, {"bandwidth.background", "10X"}, {"bandwidth.background", "-9223372036854775808G"}, {"bandwidth.yield", "perhaps"},
		{"jobInactivityTimeout", "59"}, {"connectionsPerFile", "17"}, {"connectionsPerFile", "0"}} {
		cli(1, "E_INVALIDARG", "config", "set", "--", kv[0], kv[1])
		call("E_INVALIDARG", "config set", kv, nil)
	}
	// Bodies that are not calls.
	for _, b := range []string{"", "null", "[]", "{", `{"op":`, `{"op":1}`, `{"op":"list","args":"x"}`, `{"op":"list","args":[1]}`, `{"op":"list","flags":[]}`,
		`{"op":"list","flags":{"verbose":1}}`, `"list"`, `{"op":"list"}garbage`, "\xff\xfe", `{"op":"info","args":[null]}`, `{"op":null}`,
		`{"op":"create","args":["a"],"flags":{"download":"true","upload":"true"}}`, `{"op":"create","args":["` + strings.Repeat("n", 300) + `"]}`,
		`{"op":"setpriority","args":["` + job + `","high"],"flags":{"x":"y"}}`, strings.Repeat("[", 100000)} {
		out = append(out, badInput{body: b})
	}
	return out
}

// A generated corpus of more than 1,000 bad command lines and API calls,
// against a real engine holding jobs: each gets a clear error (the BITS
// error line and exit 1, or a usage hint and exit 2, as cli.md says; over
// the API an error body with a BITS name and the status of its code), the
// engine stays up, and nothing changes: the verbose job list and the
// settings are the same bytes before and after.
func TestBadInputCorpusChangesNothing(t *testing.T) {
	e := newEnv(t)
	job := strings.TrimSpace(e.ok("create", "--download", "alpha"))
	e.ok("addfile", job, "http://127.0.0.1:9/a.iso", filepath.Join(e.dir, "a.iso"))
	e.ok("addfile", job, "http://127.0.0.1:9/b.iso", filepath.Join(e.dir, "b.iso"))
	e.ok("setdescription", job, "the state under test")
	e.ok("setpriority", job, "high")
	e.ok("setcustomheaders", job, "X-Test: 1")
	e.ok("setproxysettings", job, "override", "proxy:8080", "<local>")
	upJob := strings.TrimSpace(e.ok("create", "--upload", "beta"))
	e.writeFile("up.bin", []byte("upload me"), 0o600)
	e.ok("addfile", upJob, "http://127.0.0.1:9/up", filepath.Join(e.dir, "up.bin"))
	if err := os.Symlink("/etc/passwd", filepath.Join(e.dir, "link")); err != nil {
		t.Fatal(err)
	}
	e.ok("config", "set", "timeSlice", "77")
	dump := func() string {
		return e.ok("list", "--json", "--verbose") + e.ok("config", "--json") + e.ok("info", job, "--json", "--verbose") + e.ok("info", upJob, "--json", "--verbose") +
			e.ok("getcustomheaders", job) + e.ok("getproxylist", job) + e.ok("getproxybypasslist", job) + e.ok("gethttpmethod", job)
	}
	before := dump()
	pid := e.enginePID()

	sock := api.SocketAddr(filepath.Join(e.home, "ferry.sock"))
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	defer hc.CloseIdleConnections()
	inputs := badInputs(job, upJob, e.dir)
	var nCLI, nAPI int
	for _, in := range inputs {
		if in.args != nil {
			nCLI++
			r := e.run(in.args...)
			switch {
			case r.code != in.exit:
				t.Errorf("want exit %d\n%s", in.exit, r)
			case in.exit == 2:
				if !strings.HasPrefix(r.stderr, "ferry: ") || !strings.Contains(r.stderr, "usage: ferry") || r.stdout != "" {
					t.Errorf("a usage error without its hint\n%s", r)
				}
			default:
				m := errLine.FindStringSubmatch(r.stderr)
				if m == nil || r.stdout != "" {
					t.Errorf("stderr is not one BITS error line\n%s", r)
				} else if in.name != "" && m[1] != in.name {
					t.Errorf("want %s\n%s", in.name, r)
				}
			}
			continue
		}
		nAPI++
		resp, err := hc.Post("http://ferry"+api.PathCall, "application/json", strings.NewReader(in.body))
		if err != nil {
			t.Fatalf("%q: %v", in.body, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var rep wire.Reply
		if err := json.Unmarshal(b, &rep); err != nil || rep.Error == nil {
			t.Errorf("%.200q: %d %.300q, want an error body", in.body, resp.StatusCode, b)
			continue
		}
		er := rep.Error
		switch {
		case er.Name != er.Code.Name() || strings.HasPrefix(er.Name, "0x") || strings.TrimSpace(er.Message) == "":
			t.Errorf("%.200q: error %+v", in.body, er)
		case resp.StatusCode != wire.Status(er.Code):
			t.Errorf("%.200q: status %d for %s", in.body, resp.StatusCode, er.Name)
		case in.name != "" && er.Name != in.name:
			t.Errorf("%.200q: %s (%s), want %s", in.body, er.Name, er.Message, in.name)
		case er.Name == "E_FAIL":
			t.Errorf("%.200q: E_FAIL is for what broke, not for bad input: %s", in.body, er.Message)
		}
	}
	if nCLI+nAPI < 1000 {
		t.Fatalf("only %d bad inputs (%d command lines, %d API calls)", nCLI+nAPI, nCLI, nAPI)
	}
	if got := e.enginePID(); got != pid || pid == 0 {
		t.Fatalf("the engine was %d, is %d", pid, got)
	}
	if after := dump(); after != before {
		t.Fatalf("bad input changed the state:\nbefore %s\nafter  %s", before, after)
	}
	if m, _ := filepath.Glob(filepath.Join(e.dir, ".BIT*")); len(m) != 0 {
		t.Fatalf("files left: %v", m)
	}
	t.Logf("bad inputs: %d command lines and %d API calls, all refused with a BITS error or a usage hint; nothing changed", nCLI, nAPI)
}
