//go:build unix

package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isRFC3339UTC(v any) bool {
	s, ok := v.(string)
	if !ok || !strings.HasSuffix(s, "Z") {
		return false
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

func TestJSONShapesAndDefaults(t *testing.T) {
	e := newEnv(t)
	out := e.ok("create", "nightly")
	id := strings.TrimSuffix(out, "\n")
	if !guid.MatchString(id) || strings.Count(out, "\n") != 1 {
		t.Fatalf("create printed %q, want the id alone", out)
	}
	var in map[string]any
	e.okJSON(&in, "info", id)
	want := []string{"connections", "connectionsInUse", "costFlags", "description", "displayName", "dynamic", "error", "errorCount", "files", "id", "maxDownloadTime",
		"minRetryDelay", "noProgressTimeout", "notifyCmdLine", "notifyFlags", "owner", "priority", "progress", "proxy",
		"state", "times", "type"}
	if got := keys(in); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("info keys %v, want %v", got, want)
	}
	checks := map[string]any{
		"id": id, "displayName": "nightly", "description": "", "type": "DOWNLOAD", "state": "SUSPENDED",
		"priority": "NORMAL", "errorCount": 0.0, "error": nil, "minRetryDelay": 600.0, "noProgressTimeout": 1209600.0,
		"maxDownloadTime": 7776000.0, "notifyFlags": 3.0, "notifyCmdLine": nil, "dynamic": false,
		"connections": 1.0, "connectionsInUse": 0.0,
	}
	for k, v := range checks {
		if in[k] != v {
			t.Errorf("%s = %#v, want %#v", k, in[k], v)
		}
	}
	if o, _ := in["owner"].(string); o == "" {
		t.Errorf("owner %v", in["owner"])
	}
	proxy := in["proxy"].(map[string]any)
	if proxy["usage"] != "PRECONFIG" || proxy["list"] != "" || proxy["bypass"] != "" {
		t.Errorf("proxy %v", proxy)
	}
	times := in["times"].(map[string]any)
	if !isRFC3339UTC(times["creationTime"]) || !isRFC3339UTC(times["modificationTime"]) || times["transferCompletionTime"] != nil {
		t.Errorf("times %v", times)
	}
	prog := in["progress"].(map[string]any)
	if strings.Join(keys(prog), ",") != "bytesTotal,bytesTransferred,filesTotal,filesTransferred" {
		t.Errorf("progress %v", prog)
	}
	if files, ok := in["files"].([]any); !ok || len(files) != 0 {
		t.Errorf("files %v", in["files"])
	}

	// A file of unknown size makes bytesTotal -1.
	local := filepath.Join(e.dir, "a.bin")
	e.ok("addfile", id, "http://127.0.0.1:9/a.bin", local)
	var files []map[string]any
	e.okJSON(&files, "listfiles", id)
	if len(files) != 1 || strings.Join(keys(files[0]), ",") != "bytesTotal,bytesTransferred,completed,localName,ranges,remoteName" ||
		files[0]["ranges"] != nil ||
		files[0]["bytesTotal"] != -1.0 || files[0]["localName"] != local || files[0]["completed"] != false {
		t.Fatalf("listfiles %v", files)
	}
	var total float64
	e.okJSON(&total, "getbytestotal", id)
	if total != -1 {
		t.Fatalf("getbytestotal %v", total)
	}

	// list: an array of the same objects, files only with --verbose.
	e.ok("create", "--upload", "second")
	var list []map[string]any
	e.okJSON(&list, "list")
	if len(list) != 2 || list[0]["id"] != id || list[1]["type"] != "UPLOAD" {
		t.Fatalf("list %v", list)
	}
	if _, has := list[0]["files"]; has {
		t.Fatalf("list without --verbose has files: %v", list[0])
	}
	e.okJSON(&list, "list", "--verbose")
	if f, ok := list[0]["files"].([]any); !ok || len(f) != 1 {
		t.Fatalf("list --verbose files %v", list[0]["files"])
	}
	e.okJSON(&list, "/list", "/allusers")
	if len(list) != 2 {
		t.Fatalf("list /allusers %v", list)
	}

	// Getters print the property in its info shape; braces and case are accepted.
	ref := "{" + strings.ToUpper(id) + "}"
	getters := map[string]string{
		"getstate": `"SUSPENDED"`, "getpriority": `"NORMAL"`, "gettype": `"DOWNLOAD"`, "getdisplayname": `"nightly"`,
		"getdescription": `""`, "getminretrydelay": "600", "getnoprogresstimeout": "1209600", "getmaxdownloadtime": "7776000",
		"getnotifyflags": "3", "getnotifycmdline": "null", "getproxyusage": `"PRECONFIG"`, "getproxylist": `""`,
		"getproxybypasslist": `""`, "geterrorcount": "0", "getfilestotal": "1", "getfilestransferred": "0",
		"getbytestransferred": "0", "getcompletiontime": "null", "getdynamic": "false", "gethttpmethod": `"GET"`,
		"getcustomheaders": `""`,
	}
	for g, want := range getters {
		var raw json.RawMessage
		e.okJSON(&raw, g, ref)
		if string(raw) != want {
			t.Errorf("%s --json = %s, want %s", g, raw, want)
		}
	}
	var p map[string]any
	e.okJSON(&p, "getprogress", id)
	if p["filesTotal"] != 1.0 || p["bytesTotal"] != -1.0 {
		t.Errorf("getprogress %v", p)
	}
	var ct string
	e.okJSON(&ct, "getcreationtime", id)
	if !isRFC3339UTC(ct) {
		t.Errorf("getcreationtime %q", ct)
	}
	if got := e.ok("getstate", "nightly"); got != "SUSPENDED\n" {
		t.Errorf("getstate by name printed %q", got)
	}
	if got := e.ok("getowner", id); strings.TrimSpace(got) != in["owner"] {
		t.Errorf("getowner %q", got)
	}
	// No error yet: BITS' GetError answers BG_E_ERROR_INFORMATION_UNAVAILABLE.
	e.fails("BG_E_ERROR_INFORMATION_UNAVAILABLE", "geterror", id)

	// Human output is aligned text.
	if out := e.ok("list"); !strings.Contains(out, "ID") || !strings.Contains(out, id) || !strings.Contains(out, "SUSPENDED") {
		t.Errorf("list:\n%s", out)
	}
	if out := e.ok("info", id); !strings.Contains(out, "State") || !strings.Contains(out, "SUSPENDED") {
		t.Errorf("info:\n%s", out)
	}
}

func TestUnknownJobAndBadArguments(t *testing.T) {
	e := newEnv(t)
	r := e.fails("BG_E_NOT_FOUND", "info", "0c7f6d1e-5a55-4b07-9d3f-2f2f7f1b9a10")
	if !strings.HasPrefix(r.stderr, "ferry: BG_E_NOT_FOUND (0x80200001): ") || r.stdout != "" {
		t.Fatalf("%s", r)
	}
	e.fails("BG_E_NOT_FOUND", "getstate", "nosuchjob")
	e.fails("BG_E_NOT_FOUND", "/resume", "nosuchjob")
	id := strings.TrimSpace(e.ok("create", "j"))
	e.fails("E_INVALIDARG", "setpriority", id, "urgent")
	e.fails("E_INVALIDARG", "setminretrydelay", id, "soon")
	e.fails("E_INVALIDARG", "setnoprogresstimeout", id, "-5")
	e.fails("E_INVALIDARG", "setnotifyflags", id, "lots")
	e.fails("E_NOTIMPL", "setnotifyflags", id, "0x100")
	e.fails("E_INVALIDARG", "setdynamic", id, "maybe")
	e.fails("E_INVALIDARG", "setproxysettings", id, "sideways")
	e.fails("E_INVALIDARG", "setproxysettings", id, "override")
	e.fails("E_INVALIDARG", "addfile", id, "http://example.org/a", "relative/a")
	e.fails("E_INVALIDARG", "addfile", id, "gopher://example.org/a", filepath.Join(e.dir, "a"))
	e.fails("E_INVALIDARG", "addfile", id, "http://example.org/a", filepath.Join(e.dir, "a"), "--sha256", "beef")
	e.fails("E_INVALIDARG", "setnotifycmdline", id, "relative/prog")
	e.fails("BG_E_STRING_TOO_LONG", "setdescription", id, strings.Repeat("d", 1025))
	e.fails("E_INVALIDARG", "create", "--upload", "--download", "x")
	e.fails("E_INVALIDARG", "wait", id, "--timeout", "forever")
	e.fails("E_INVALIDARG", "transfer", "--priority", "urgent", "http://example.org/a", "/tmp/a")
	e.fails("BG_E_EMPTY", "resume", id)
	// Nothing changed half-way.
	var in map[string]any
	e.okJSON(&in, "info", id)
	if in["priority"] != "NORMAL" || in["minRetryDelay"] != 600.0 || in["state"] != "SUSPENDED" || in["description"] != "" {
		t.Fatalf("a failed setter changed the job: %v", in)
	}
	// Ambiguous display names must be named by id.
	e.ok("create", "j")
	e.fails("E_INVALIDARG", "getstate", "j")
}

func TestSettersAndGetters(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("/create", "/download", "props"))
	e.ok("setpriority", id, "HIGH")
	e.ok("setdisplayname", id, "renamed")
	e.ok("setdescription", id, "the nightly ISO")
	e.ok("setminretrydelay", id, "2") // raised to BITS' floor of 5
	e.ok("setnoprogresstimeout", id, "3600")
	e.ok("setmaxdownloadtime", id, "86400")
	e.ok("setnotifyflags", id, "0x9")
	e.ok("setnotifycmdline", id, "/usr/bin/touch", "touch /tmp/x")
	e.ok("setproxysettings", id, "override", "http://proxy.example:3128", "<local>")
	e.ok("setdynamic", id, "true")
	var in map[string]any
	e.okJSON(&in, "info", "renamed")
	if in["priority"] != "HIGH" || in["displayName"] != "renamed" || in["description"] != "the nightly ISO" ||
		in["minRetryDelay"] != 5.0 || in["noProgressTimeout"] != 3600.0 || in["maxDownloadTime"] != 86400.0 ||
		in["notifyFlags"] != 9.0 || in["dynamic"] != true {
		t.Fatalf("info after setters: %v", in)
	}
	if nc := in["notifyCmdLine"].(map[string]any); nc["program"] != "/usr/bin/touch" || nc["parameters"] != "touch /tmp/x" {
		t.Fatalf("notifyCmdLine %v", nc)
	}
	if p := in["proxy"].(map[string]any); p["usage"] != "OVERRIDE" || p["list"] != "http://proxy.example:3128" || p["bypass"] != "<local>" {
		t.Fatalf("proxy %v", p)
	}
	if got := e.ok("getproxybypasslist", id); got != "<local>\n" {
		t.Fatalf("getproxybypasslist %q", got)
	}
	if got := e.ok("getnotifycmdline", id); got != "/usr/bin/touch touch /tmp/x\n" {
		t.Fatalf("getnotifycmdline %q", got)
	}
	e.ok("setnotifycmdline", id, "NULL", "NULL")
	e.ok("setproxysettings", id, "no_proxy")
	if got := e.ok("getnotifycmdline", id); got != "NULL\n" {
		t.Fatalf("getnotifycmdline after clearing %q", got)
	}
	if got := e.ok("getproxyusage", id); got != "NO_PROXY\n" {
		t.Fatalf("getproxyusage %q", got)
	}

	// HTTP options: headers, method, reply file.
	e.ok("setcustomheaders", id, "X-Token: 42", "Accept-Language: en")
	if got := e.ok("getcustomheaders", id); got != "X-Token: 42\nAccept-Language: en\n" {
		t.Fatalf("getcustomheaders %q", got)
	}
	e.fails("E_INVALIDARG", "setcustomheaders", id, "no colon here")
	e.fails("BG_E_STRING_TOO_LONG", "setcustomheaders", id, "X-Big: "+strings.Repeat("b", 16384))
	e.ok("setcustomheaders", id, "NULL")
	if got := e.ok("getcustomheaders", id); got != "" {
		t.Fatalf("getcustomheaders after clearing %q", got)
	}
	// A custom method is refused on a dynamic job (BITS: either order).
	e.fails("BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", "sethttpmethod", id, "PURGE")
	e.ok("setdynamic", id, "false")
	e.ok("sethttpmethod", id, "PURGE")
	if got := e.ok("getpriority", id); got != "FOREGROUND\n" {
		t.Fatalf("a custom method must force FOREGROUND, got %q", got)
	}
	if got := e.ok("gethttpmethod", id); got != "PURGE\n" {
		t.Fatalf("gethttpmethod %q", got)
	}
	e.fails("BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", "setdynamic", id, "true")
	if got := e.ok("getdynamic", id); got != "false\n" {
		t.Fatalf("getdynamic with a custom method: %q", got)
	}
	e.fails("BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", "setpriority", id, "low")
	e.fails("E_INVALIDARG", "sethttpmethod", id, "BAD METHOD")
	e.fails("E_NOTIMPL", "setreplyfilename", id, filepath.Join(e.dir, "reply"))
	e.fails("E_NOTIMPL", "getreplyfilename", id)
	e.fails("E_NOTIMPL", "getreplydata", id)
	src := e.writeFile("up.txt", []byte("hello"), 0o644)
	up := strings.TrimSpace(e.ok("create", "--upload-reply", "up"))
	e.ok("addfile", up, "http://127.0.0.1:9/upload", src)
	e.ok("setreplyfilename", up, filepath.Join(e.dir, "reply.txt"))
	if got := e.ok("getreplyfilename", up); got != filepath.Join(e.dir, "reply.txt")+"\n" {
		t.Fatalf("getreplyfilename %q", got)
	}
	e.fails("BG_E_INVALID_STATE", "getreplydata", up)
	e.fails("E_INVALIDARG", "setreplyfilename", up, "relative.txt")
	if got := e.ok("gethttpmethod", up); got != "BITS_POST\n" {
		t.Fatalf("upload gethttpmethod %q", got)
	}

	// After the first resume the method is read-only.
	e.ok("addfile", id, "http://127.0.0.1:9/a", filepath.Join(e.dir, "a"))
	e.ok("resume", id)
	e.ok("suspend", id)
	e.fails("BG_E_READ_ONLY_PROPERTY_AFTER_RESUME", "sethttpmethod", id, "GET")

	// TakeOwnership drops credentials, headers and the notify command line.
	e.ok("setcustomheaders", id, "X-A: 1")
	e.ok("setnotifycmdline", id, "/usr/bin/true")
	e.ok("takeownership", id)
	if got := e.ok("getcustomheaders", id); got != "" {
		t.Fatalf("headers kept after takeownership: %q", got)
	}
	if got := e.ok("getnotifycmdline", id); got != "NULL\n" {
		t.Fatalf("notify command line kept after takeownership: %q", got)
	}

	// Final jobs refuse changes but still answer until purged.
	e.ok("cancel", id)
	if got := e.ok("getstate", id); got != "CANCELLED\n" {
		t.Fatalf("getstate after cancel %q", got)
	}
	e.fails("BG_E_INVALID_STATE", "setdescription", id, "x")
	var list []map[string]any
	e.okJSON(&list, "list")
	for _, j := range list {
		if j["id"] == id {
			t.Fatal("a cancelled job is still listed")
		}
	}
}

func TestCredentialsValidationAndSecrecy(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("create", "creds"))
	const secret = "s3cr3t-Pa55word"
	e.fails("BG_E_INVALID_AUTH_TARGET", "setcredentials", id, "gateway", "basic", "alice", "pw")
	e.fails("BG_E_INVALID_AUTH_SCHEME", "setcredentials", id, "server", "kerberos", "alice", "pw")
	e.fails("BG_E_USERNAME_TOO_LARGE", "setcredentials", id, "server", "basic", strings.Repeat("u", 301), "pw")
	e.fails("BG_E_PASSWORD_TOO_LARGE", "setcredentials", id, "server", "basic", "alice", strings.Repeat("p", 65537))
	e.fails("E_INVALIDARG", "setcredentials", id, "server", "basic", "alice", "")
	e.ok("setcredentials", id, "server", "ntlm", "", "")
	e.ok("setcredentials", id, "proxy", "basic", "bob", secret)
	// "-" reads the password from standard input.
	r := e.runInput(secret+"\n", "setcredentials", id, "server", "basic", "alice", "-")
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	r = e.run("removecredentials", id, "server", "digest")
	if r.code != 0 || !strings.Contains(r.stderr, "S_FALSE") {
		t.Fatalf("removing absent credentials should succeed with S_FALSE\n%s", r)
	}
	e.ok("removecredentials", id, "server", "ntlm")
	for _, args := range [][]string{{"info", id, "--json"}, {"info", id}, {"list", "--verbose", "--json"}} {
		if out := e.ok(args...); strings.Contains(out, secret) {
			t.Fatalf("%v shows the password", args)
		}
	}
	e.stopEngine()
	for _, f := range []string{"ferry.log", "ferry.db", "ferry.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(e.home, f))
		if strings.Contains(string(b), secret) {
			t.Fatalf("%s holds the password in clear", f)
		}
	}
	st, err := os.Stat(filepath.Join(e.home, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Fatalf("secret.key: %v %v", st, err)
	}
}

func TestConfig(t *testing.T) {
	e := newEnv(t)
	var all map[string]any
	e.okJSON(&all, "config")
	defaults := map[string]float64{"maxJobsPerUser": 60, "maxJobsPerMachine": 300, "maxFilesPerJob": 200,
		"maxRangesPerFile": 500, "jobInactivityTimeout": 7776000, "bandwidth.background": -1}
	for k, v := range defaults {
		if all[k] != v {
			t.Errorf("config %s = %v, want %v", k, all[k], v)
		}
	}
	// downloadDir, a path: text in JSON, an absolute path only, kept.
	if d, ok := all["downloadDir"].(string); !ok || !filepath.IsAbs(d) {
		t.Errorf("config downloadDir = %#v, want an absolute path", all["downloadDir"])
	}
	e.fails("E_INVALIDARG", "config", "set", "downloadDir", "relative/dir")
	e.fails("E_INVALIDARG", "config", "set", "maxJobsPerUser", "/srv/x")
	dl := filepath.Join(e.dir, "dl")
	e.ok("config", "set", "downloadDir", dl+"/")
	e.stopEngine()
	if got := e.ok("config", "get", "downloadDir"); got != dl+"\n" {
		t.Fatalf("config get downloadDir after a restart: %q, want %q", got, dl)
	}
	if out := e.ok("config"); !strings.Contains(out, "downloadDir") || !strings.Contains(out, dl) {
		t.Fatalf("config:\n%s", out)
	}
	if got := e.ok("config", "get", "maxJobsPerUser"); got != "60\n" {
		t.Fatalf("config get %q", got)
	}
	e.ok("config", "set", "maxJobsPerUser", "2")
	e.ok("config", "set", "bandwidth.background", "512K")
	var v float64
	e.okJSON(&v, "config", "get", "bandwidth.background")
	if v != 512*1024 {
		t.Fatalf("bandwidth.background %v", v)
	}
	e.fails("E_INVALIDARG", "config", "set", "nosuchkey", "1")
	e.fails("E_INVALIDARG", "config", "set", "maxJobsPerUser", "0")
	e.fails("E_INVALIDARG", "config", "get", "nosuchkey")
	if out := e.ok("config"); !strings.Contains(out, "maxJobsPerUser") || !strings.Contains(out, "2 count") {
		t.Fatalf("config:\n%s", out)
	}
	// The limit applies, and survives a restart.
	e.stopEngine()
	e.ok("create", "a")
	e.ok("create", "b")
	e.fails("BG_E_TOO_MANY_JOBS_PER_USER", "create", "c")
	r := e.run("reset")
	if r.code != 0 || r.stdout != "2 out of 2 jobs cancelled.\n" {
		t.Fatalf("%s", r)
	}
	var list []any
	e.okJSON(&list, "list")
	if len(list) != 0 {
		t.Fatalf("list after reset: %v", list)
	}
}

func TestAddFileSetAllOrNone(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("create", "set"))
	good := e.writeFile("good.txt", []byte("# two files\nhttp://127.0.0.1:9/a "+filepath.Join(e.dir, "a")+"\n\n\"http://127.0.0.1:9/b c\" \""+filepath.Join(e.dir, "b c")+"\"\n"), 0o644)
	bad := e.writeFile("bad.txt", []byte("http://127.0.0.1:9/x "+filepath.Join(e.dir, "x")+"\nhttp://127.0.0.1:9/y relative/y\n"), 0o644)
	// LISTFILE may be relative to the caller's directory; a bad line adds nothing.
	e.fails("E_INVALIDARG", "addfileset", id, filepath.Base(bad))
	var n float64
	e.okJSON(&n, "getfilestotal", id)
	if n != 0 {
		t.Fatalf("a failed addfileset added %v files", n)
	}
	e.ok("addfileset", id, good)
	var files []map[string]any
	e.okJSON(&files, "listfiles", id)
	if len(files) != 2 || files[1]["remoteName"] != "http://127.0.0.1:9/b c" || files[1]["localName"] != filepath.Join(e.dir, "b c") {
		t.Fatalf("listfiles %v", files)
	}
	e.fails("E_INVALIDARG", "addfileset", id, filepath.Join(e.dir, "missing.txt"))
	e.ok("replaceremoteprefix", id, "http://127.0.0.1:9/", "http://127.0.0.1:10/")
	e.okJSON(&files, "listfiles", id)
	if files[0]["remoteName"] != "http://127.0.0.1:10/a" {
		t.Fatalf("replaceremoteprefix: %v", files)
	}
	if r := e.run("replaceremoteprefix", id, "https://nomatch/", "https://x/"); r.code != 0 || !strings.Contains(r.stderr, "S_FALSE") {
		t.Fatalf("no match should be S_FALSE\n%s", r)
	}
}

// setproperty/getproperty: CONNECTIONS and DYNAMIC_CONTENT by name, the
// connectionsPerFile default of new jobs, and clear errors for the rest.
func TestJobProperties(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("create", "props"))
	if got := e.ok("getproperty", id, "CONNECTIONS"); got != "1\n" {
		t.Fatalf("default CONNECTIONS %q, want 1", got)
	}
	e.ok("setproperty", id, "CONNECTIONS", "8")
	e.ok("/setproperty", id, "bits_job_property_dynamic_content", "true")
	if got := e.ok("getproperty", id, "connections"); got != "8\n" {
		t.Fatalf("CONNECTIONS %q after setproperty 8", got)
	}
	if got := e.ok("getproperty", id, "DYNAMIC_CONTENT"); got != "true\n" {
		t.Fatalf("DYNAMIC_CONTENT %q after setproperty true", got)
	}
	var in map[string]any
	e.okJSON(&in, "info", id)
	if in["connections"] != 8.0 || in["dynamic"] != true || in["connectionsInUse"] != 0.0 {
		t.Fatalf("info after setproperty: %v", in)
	}
	e.fails("E_INVALIDARG", "setproperty", id, "CONNECTIONS", "17")
	e.fails("E_INVALIDARG", "setproperty", id, "CONNECTIONS", "0")
	e.fails("E_INVALIDARG", "setproperty", id, "CONNECTIONS", "many")
	e.fails("E_INVALIDARG", "setproperty", id, "DYNAMIC_CONTENT", "maybe")
	// COST_FLAGS: BITS' default, a policy name or a number, refusals.
	if got := e.ok("getproperty", id, "COST_FLAGS"); got != "2147483775\n" {
		t.Fatalf("default COST_FLAGS %q, want 0x8000007F (TRANSFER_NOT_ROAMING)", got)
	}
	e.ok("setproperty", id, "BITS_JOB_PROPERTY_ID_COST_FLAGS", "TRANSFER_UNRESTRICTED")
	if got := e.ok("getproperty", id, "COST_FLAGS"); got != "2147483681\n" {
		t.Fatalf("COST_FLAGS %q after TRANSFER_UNRESTRICTED", got)
	}
	e.fails("E_INVALIDARG", "setproperty", id, "COST_FLAGS", "0x80000000")
	for _, p := range []string{"ON_DEMAND_MODE"} {
		r := e.fails("E_NOTIMPL", "setproperty", id, p, "1")
		if !strings.Contains(r.stderr, "does not have the "+p+" property yet") {
			t.Fatalf("setproperty %s: %s", p, r)
		}
		e.fails("E_NOTIMPL", "getproperty", id, p)
	}
	e.fails("BG_E_UNKNOWN_PROPERTY_ID", "setproperty", id, "SPEED", "11")
	e.fails("BG_E_UNKNOWN_PROPERTY_ID", "getproperty", id, "SPEED")
	e.usage("setproperty", id, "CONNECTIONS")
	if got := e.ok("getproperty", id, "CONNECTIONS"); got != "8\n" {
		t.Fatalf("a refused setproperty changed CONNECTIONS to %q", got)
	}
	// The setting is the CONNECTIONS of jobs created after it.
	e.ok("config", "set", "connectionsPerFile", "4")
	e.fails("E_INVALIDARG", "config", "set", "connectionsPerFile", "17")
	id2 := strings.TrimSpace(e.ok("create", "later"))
	if got := e.ok("getproperty", id2, "CONNECTIONS"); got != "4\n" {
		t.Fatalf("CONNECTIONS of a job created after connectionsPerFile 4: %q", got)
	}
	if got := e.ok("getproperty", id, "CONNECTIONS"); got != "8\n" {
		t.Fatalf("the setting changed an existing job's CONNECTIONS to %q", got)
	}
	up := strings.TrimSpace(e.ok("create", "--upload", "up"))
	e.fails("BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY", "setproperty", up, "CONNECTIONS", "2")
}
