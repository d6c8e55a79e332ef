//go:build unix

package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/backend/internal/testenv"
	"ferry/backend/internal/testsrv"
)

// waitState runs ferry wait and checks the state it ends in.
func (e *env) waitFor(job, state string) {
	e.t.Helper()
	out := e.run("wait", job, "--timeout", "50")
	if strings.TrimSpace(out.stdout) != state {
		e.t.Fatalf("job %s: want %s\n%s\n%s", job, state, out, e.ok("info", job))
	}
}

func create(e *env, name string) string {
	return strings.TrimSpace(e.ok("create", name))
}

// File2 SetRemoteName, File3 GetTemporaryName, Get/SetValidationState and
// File5 HTTP_RESPONSE_HEADERS against nginx, as a script would use them.
func TestFileMethodsAgainstNginx(t *testing.T) {
	e := newEnv(t)
	a := randomBytes(t, 2<<20+5)
	base := testenv.Nginx(t, docroot(t, map[string][]byte{"a.bin": a}))
	local := filepath.Join(e.dir, "a.bin")

	id := create(e, "files")
	e.ok("addfile", id, base+"/missing.bin", local)
	e.fails("E_PENDING", "getvalidationstate", id, "0")
	e.fails("E_PENDING", "setvalidationstate", id, "0", "true")
	e.fails("E_INVALIDARG", "setremotename", id, "1", base+"/a.bin")
	e.fails("E_INVALIDARG", "gettemporaryname", id, "-1")
	e.ok("resume", id)
	e.waitFor(id, "ERROR")
	// The error is the server's 404: point the file elsewhere and go on.
	e.ok("setremotename", id, "0", base+"/a.bin")
	var files []map[string]any
	e.okJSON(&files, "listfiles", id)
	if files[0]["remoteName"] != base+"/a.bin" {
		t.Fatalf("listfiles after setremotename: %v", files)
	}
	e.ok("resume", id)
	e.waitFor(id, "TRANSFERRED")

	// The temporary file exists, holds the bytes, and is named.
	tmp := strings.TrimSpace(e.ok("gettemporaryname", id, "0"))
	if filepath.Dir(tmp) != e.dir || !strings.HasSuffix(tmp, ".tmp") {
		t.Fatalf("gettemporaryname = %q", tmp)
	}
	if sum(mustRead(t, tmp)) != sum(a) {
		t.Fatal("the temporary file does not hold the download")
	}
	headers := e.ok("getresponseheaders", id, "0")
	if !strings.Contains(headers, "HTTP/1.1 206") || !strings.Contains(headers, "Server: nginx") || !strings.Contains(headers, "Content-Range: bytes 0-") {
		t.Fatalf("getresponseheaders:\n%s", headers)
	}
	if v := strings.TrimSpace(e.ok("getvalidationstate", id, "0")); v != "false" {
		t.Fatalf("getvalidationstate of a file nobody validated = %s", v)
	}

	// FALSE: ERROR with BG_E_VALIDATION_FAILED, the file's progress back to 0.
	e.ok("setvalidationstate", id, "0", "false")
	if s := strings.TrimSpace(e.ok("getstate", id)); s != "ERROR" {
		t.Fatalf("state after setvalidationstate false: %s", s)
	}
	if !strings.Contains(e.ok("geterror", id), "BG_E_VALIDATION_FAILED") {
		t.Fatalf("geterror: %s", e.ok("geterror", id))
	}
	e.okJSON(&files, "listfiles", id)
	if files[0]["bytesTransferred"] != float64(0) {
		t.Fatalf("file progress after FALSE: %v", files[0])
	}
	if v := strings.TrimSpace(e.ok("getvalidationstate", id, "0")); v != "false" {
		t.Fatalf("getvalidationstate after FALSE = %s", v)
	}
	// Resume downloads it again, and the end is the same file.
	e.ok("resume", id)
	e.waitFor(id, "TRANSFERRED")
	e.ok("setvalidationstate", id, "0", "true")
	if v := strings.TrimSpace(e.ok("getvalidationstate", id, "0")); v != "true" {
		t.Fatalf("getvalidationstate after TRUE = %s", v)
	}
	e.ok("complete", id)
	if sum(mustRead(t, local)) != sum(a) {
		t.Fatal("the file differs after validation FALSE and resume")
	}
	if n := len(tempFiles(t, e.dir)); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}

	// Upload jobs have no SetRemoteName (E_NOTIMPL).
	up := strings.TrimSpace(e.ok("create", "--upload", "up"))
	src := e.writeFile("src.bin", []byte("x"), 0o644)
	e.ok("addfile", up, base+"/up", src)
	e.fails("E_NOTIMPL", "setremotename", up, "0", base+"/up2")
}

// A SHA-256 mismatch is the same mechanism: ERROR BG_E_VALIDATION_FAILED,
// the validation state FALSE and the file's progress back to 0.
func TestSHA256MismatchIsValidationFalse(t *testing.T) {
	e := newEnv(t)
	srv := testsrv.New(t)
	srv.Handle("/f", testsrv.File{Size: 70000})
	first := srv.Body("/f")
	srv.Change("/f") // the server now serves other bytes than those hashed
	id := create(e, "sha")
	local := filepath.Join(e.dir, "f")
	e.ok("addfile", id, srv.URL("/f"), local, "--sha256", sum(first))
	e.ok("resume", id)
	e.waitFor(id, "ERROR")
	if !strings.Contains(e.ok("geterror", id), "BG_E_VALIDATION_FAILED") {
		t.Fatalf("geterror: %s", e.ok("geterror", id))
	}
	if v := strings.TrimSpace(e.ok("getvalidationstate", id, "0")); v != "false" {
		t.Fatalf("getvalidationstate after a mismatch = %s", v)
	}
	var files []map[string]any
	e.okJSON(&files, "listfiles", id)
	if files[0]["bytesTransferred"] != float64(0) {
		t.Fatalf("file progress after a mismatch: %v", files[0])
	}
}

// MakeCustomHeadersWriteOnly hides the headers and still sends them.
func TestCustomHeadersWriteOnly(t *testing.T) {
	e := newEnv(t)
	srv := testsrv.New(t)
	srv.Handle("/h", testsrv.File{Size: 1000})
	id := create(e, "hdr")
	e.ok("addfile", id, srv.URL("/h"), filepath.Join(e.dir, "h"))
	e.ok("setcustomheaders", id, "X-Token: s3cr3t-v4lue")
	if !strings.Contains(e.ok("getcustomheaders", id), "X-Token: s3cr3t-v4lue") {
		t.Fatal("getcustomheaders does not show the header")
	}
	e.ok("makecustomheaderswriteonly", id)
	r := e.fails("E_ACCESSDENIED", "getcustomheaders", id)
	if strings.Contains(r.stdout+r.stderr, "s3cr3t") {
		t.Fatalf("a write-only header shows:\n%s", r)
	}
	e.ok("resume", id)
	e.waitFor(id, "TRANSFERRED")
	reqs := srv.Requests("/h")
	if len(reqs) == 0 || reqs[0].Header.Get("X-Token") != "s3cr3t-v4lue" {
		t.Fatalf("the write-only header was not sent: %v", reqs)
	}
	// Still write-only after a restart of the engine.
	e.ok("shutdown")
	e.fails("E_ACCESSDENIED", "getcustomheaders", id)
}

// Job5 properties: values, read-back and BITS' refusals.
func TestJobPropertiesAndRefusals(t *testing.T) {
	e := newEnv(t)
	srv := testsrv.New(t)
	srv.Handle("/big", testsrv.File{Size: 300000})
	id := create(e, "props")
	e.fails("BG_E_UNKNOWN_PROPERTY_ID", "setproperty", id, "NO_SUCH", "1")
	e.fails("BG_E_UNKNOWN_PROPERTY_ID", "getproperty", id, "NO_SUCH")
	e.fails("BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE", "setproperty", id, "MAX_DOWNLOAD_SIZE", "0")
	e.ok("setproperty", id, "BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE", "100000")
	e.ok("setproperty", id, "MINIMUM_NOTIFICATION_INTERVAL_MS", "1500")
	if v := strings.TrimSpace(e.ok("getproperty", id, "MINIMUM_NOTIFICATION_INTERVAL_MS")); v != "1500" {
		t.Fatalf("MINIMUM_NOTIFICATION_INTERVAL_MS = %s", v)
	}
	// A custom verb and dynamic content refuse each other, in either order.
	e.ok("sethttpmethod", id, "POST")
	e.fails("BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", "setdynamic", id, "true")
	e.fails("BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", "setproperty", id, "DYNAMIC_CONTENT", "true")
	e.ok("sethttpmethod", id, "GET")
	e.ok("setdynamic", id, "true")
	e.fails("BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", "sethttpmethod", id, "POST")
	e.ok("setdynamic", id, "false")

	// MAX_DOWNLOAD_SIZE: a file larger than it ends in ERROR.
	e.ok("addfile", id, srv.URL("/big"), filepath.Join(e.dir, "big"))
	e.ok("resume", id)
	e.waitFor(id, "ERROR")
	if !strings.Contains(e.ok("geterror", id), "BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED") {
		t.Fatalf("geterror: %s", e.ok("geterror", id))
	}
	e.fails("BG_E_READ_ONLY_PROPERTY_AFTER_RESUME", "setproperty", id, "MAX_DOWNLOAD_SIZE", "1000000")
	e.fails("BG_E_READ_ONLY_PROPERTY_AFTER_RESUME", "setproperty", id, "DYNAMIC_CONTENT", "true")

	up := strings.TrimSpace(e.ok("create", "--upload", "up"))
	for _, p := range []string{"DYNAMIC_CONTENT", "MAX_DOWNLOAD_SIZE", "CONNECTIONS"} {
		e.fails("BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY", "setproperty", up, p, "1")
	}
	// Not built yet: said plainly.
	e.fails("E_NOTIMPL", "setproperty", up, "ON_DEMAND_MODE", "true")
	if _, err := os.Stat(filepath.Join(e.dir, "big")); err == nil {
		t.Fatal("a failed job's file appeared under its name")
	}
}
