//go:build unix

package cli_test

import (
	"os/exec"
	"strings"
	"testing"

	"ferry/backend/ops"
)

// cliCommands is every command of shared/cli.md, and bitsadmin's other
// HTTP options.
var cliCommands = []string{
	"create", "addfile", "addfileset", "replaceremoteprefix", "listfiles", "resume", "suspend", "cancel", "complete",
	"takeownership", "info", "list",
	"getstate", "getprogress", "getbytestotal", "getbytestransferred", "getfilestotal", "getfilestransferred",
	"getcreationtime", "getmodificationtime", "getcompletiontime", "geterror", "geterrorcount", "gettype", "getowner",
	"getpriority", "getdisplayname", "getdescription", "getminretrydelay", "getnoprogresstimeout", "getmaxdownloadtime",
	"getnotifyflags", "getnotifycmdline", "getproxyusage", "getproxylist", "getproxybypasslist", "getcustomheaders",
	"getreplyfilename", "getreplydata", "gethttpmethod", "getdynamic",
	"setpriority", "setdisplayname", "setdescription", "setminretrydelay", "setnoprogresstimeout", "setmaxdownloadtime",
	"setnotifyflags", "setnotifycmdline", "setproxysettings", "setcredentials", "removecredentials",
	"setcustomheaders", "sethttpmethod", "setdynamic", "setreplyfilename",
	"transfer", "monitor", "wait", "reset", "config", "service", "shutdown", "version", "help", "completion",
	"serve-uploads", "getreplyprogress", "setsecurityflags", "getsecurityflags", "setclientcertificate",
	"getclientcertificate", "removeclientcertificate", "setproperty", "getproperty",
}

func TestEveryCommandHasHelpWithExample(t *testing.T) {
	e := newEnv(t)
	for _, name := range cliCommands {
		out := e.ok("help", name)
		if !strings.Contains(out, "usage: ferry "+name) || !strings.Contains(out, "Example:\n  ") {
			t.Errorf("help %s lacks usage or example:\n%s", name, out)
		}
		// bitsadmin's spelling and --help work too.
		if out2 := e.ok("/"+strings.ToUpper(name), "--help"); out2 != out && name != "help" {
			t.Errorf("/%s --help differs from help %s", strings.ToUpper(name), name)
		}
	}
	all := e.ok("help")
	for _, name := range cliCommands {
		if !strings.Contains(all, "  "+name+" ") {
			t.Errorf("help does not list %s", name)
		}
	}
	if out := e.ok("help", "config"); !strings.Contains(out, "bytes/s") || !strings.Contains(out, "maxJobsPerUser") {
		t.Errorf("help config does not list the settings with units:\n%s", out)
	}
	e.usage("help", "nosuchcommand")
	if e.enginePID() != 0 {
		t.Fatal("help started an engine")
	}
}

// Every wrong argument count is a usage error (exit 2) with a hint, and
// never reaches (or starts) an engine.
func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	for _, op := range ops.All() {
		min, max := op.ArgRange()
		words := strings.Fields(op.Name)
		if min > 0 {
			r := e.usage(words...)
			if !strings.Contains(r.stderr, "usage: ferry "+op.Name) {
				t.Errorf("%s: hint lacks the usage:\n%s", op.Name, r)
			}
		}
		if max >= 0 {
			args := append([]string{}, words...)
			for i := 0; i <= max; i++ {
				args = append(args, "x")
			}
			e.usage(args...)
		}
	}
	e.usage("transfer")
	e.usage("transfer", "--name", "n", "http://x/a")
	e.usage("wait")
	e.usage("wait", "a", "b")
	e.usage("completion")
	e.usage("monitor", "extra")
	e.usage("service", "extra")
	e.usage("version", "extra")
	e.usage("shutdown", "extra")
	e.usage("nosuchcommand")
	e.usage("/nosuchcommand")
	e.usage("--json")
	e.usage("list", "--bogus")
	e.usage("addfile", "j", "http://x/a", "/tmp/a", "--sha256")
	e.usage("list", "--verbose=yes")
	e.usage("config", "frob")
	e.usage("config", "get")
	e.usage("config", "set", "k")
	if e.enginePID() != 0 {
		t.Fatal("a usage error started an engine")
	}
}

func TestVersionAndCompletion(t *testing.T) {
	e := newEnv(t)
	if out := e.ok("version"); !strings.HasPrefix(out, "ferry ") {
		t.Fatalf("version: %q", out)
	}
	var v map[string]string
	e.okJSON(&v, "version")
	if v["version"] == "" {
		t.Fatalf("version --json: %v", v)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out := e.ok("completion", sh)
		if !strings.Contains(out, "addfile") || !strings.Contains(out, "getstate") {
			t.Errorf("completion %s lacks commands", sh)
		}
	}
	script := e.writeFile("ferry.bash", []byte(e.ok("completion", "bash")), 0o644)
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("the bash completion is not valid bash: %v\n%s", err, out)
	}
	e.fails("E_INVALIDARG", "completion", "powershell")
	if e.enginePID() != 0 {
		t.Fatal("version/completion started an engine")
	}
}
