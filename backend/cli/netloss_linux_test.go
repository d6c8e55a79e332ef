package cli_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netLink is a network namespace of the test's own joined to this one by a
// veth pair: the engine runs inside, the server outside.
type netLink struct {
	ns, host, peer string // namespace, our end, its end
	hostIP, peerIP string
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func newNetLink(t *testing.T) *netLink {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: network namespaces need root (CI runs as root)")
	}
	k := os.Getpid() % 250
	l := &netLink{ns: fmt.Sprintf("ferry-nl-%d", os.Getpid()), host: fmt.Sprintf("fnl%da", os.Getpid()%100000),
		peer: fmt.Sprintf("fnl%db", os.Getpid()%100000), hostIP: fmt.Sprintf("10.81.%d.1", k), peerIP: fmt.Sprintf("10.81.%d.2", k)}
	ipCmd(t, "netns", "add", l.ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", l.host).Run()
		_ = exec.Command("ip", "netns", "del", l.ns).Run()
	})
	ipCmd(t, "link", "add", l.host, "type", "veth", "peer", "name", l.peer)
	ipCmd(t, "link", "set", l.peer, "netns", l.ns)
	ipCmd(t, "addr", "add", l.hostIP+"/30", "dev", l.host)
	ipCmd(t, "link", "set", l.host, "up")
	ipCmd(t, "-n", l.ns, "link", "set", "lo", "up")
	l.up(t)
	return l
}

// up gives the namespace's end its address and brings it up; down takes the
// link away (its routes go with it).
func (l *netLink) up(t *testing.T) {
	ipCmd(t, "-n", l.ns, "addr", "replace", l.peerIP+"/30", "dev", l.peer)
	ipCmd(t, "-n", l.ns, "link", "set", l.peer, "up")
}

func (l *netLink) down(t *testing.T) {
	ipCmd(t, "-n", l.ns, "link", "set", l.peer, "down")
}

// The link of the engine's network namespace goes away and comes back: the
// job fails with a transient error (TRANSIENT_ERROR, its retry delay ten
// minutes) and, when the link returns, goes on by itself within seconds,
// as BITS does when connectivity returns: the engine watches the network
// (backend/netwatch) rather than waiting out the delay.
func TestNetworkLossAndReturn(t *testing.T) {
	l := newNetLink(t)
	docs := docroot(t, map[string][]byte{"f.bin": randomBytes(t, 1<<20)})
	ln, err := net.Listen("tcp", l.hostIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(docs))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String() + "/f.bin"

	e := newEnv(t)
	if err := os.MkdirAll(e.home, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", l.ns, ferryBin, "service")
	cmd.Env = e.environ()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, 10*time.Second, "the engine", func() bool { return e.run("list", "--no-autostart").code == 0 })

	state := func(id string) string { return strings.TrimSpace(e.ok("getstate", id)) }
	for round := range 2 {
		l.down(t)
		// The engine hears of it (netwatch's burst settles) and drops its
		// pooled connections; a request already sent on one would wait out
		// the stall timeout (60 s) instead, as an in-flight transfer does.
		time.Sleep(time.Second)
		id := strings.TrimSpace(e.ok("create", "--no-autostart", fmt.Sprintf("netloss%d", round)))
		dest := filepath.Join(e.dir, fmt.Sprintf("f%d.bin", round))
		e.ok("addfile", id, url, dest)
		e.ok("resume", id)
		deadline := time.Now().Add(20 * time.Second)
		for state(id) != "TRANSIENT_ERROR" {
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(e.home, "ferry.log"))
				t.Fatalf("round %d: %s without a link, want TRANSIENT_ERROR\n%s\nengine log:\n%s", round, e.ok("info", id), out.String(), log)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Still waiting (the delay is 600 s) while the link is down.
		time.Sleep(time.Second)
		if s := state(id); s != "TRANSIENT_ERROR" {
			t.Fatalf("round %d: %s without a link", round, s)
		}
		back := time.Now()
		l.up(t)
		waitFor(t, 20*time.Second, "the job back after the link", func() bool { return state(id) == "TRANSFERRED" })
		t.Logf("round %d: TRANSFERRED %v after the link came back (retry delay 600 s)", round, time.Since(back).Round(10*time.Millisecond))
		e.ok("complete", id)
		got, err := os.ReadFile(dest)
		want, _ := os.ReadFile(filepath.Join(docs, "f.bin"))
		if err != nil || string(got) != string(want) {
			t.Fatalf("round %d: the file differs (%v)", round, err)
		}
	}
}
