package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/backend/bits"
)

// Every pair of mutating operations, run at once on one job, must end as
// the two run one after the other in some order: the same answers, the same
// record and the same files on disk. An operation whose check and write are
// not one step (Complete planned from a record that AddFile changed before
// Complete's last write) shows up here as an outcome no order gives.

// mutation is one operation on a job; it returns what the caller is told.
type mutation struct {
	name string
	run  func(h *harness, id, dir string) string
}

func answer(res bits.HRESULT, err error) string {
	if err != nil {
		return bits.CodeOf(err).Name()
	}
	return res.Name()
}

func plain(err error) string { return answer(bits.S_OK, err) }

var mutations = []mutation{
	{"addfile", func(h *harness, id, dir string) string {
		return plain(h.m.AddFile(id, FileSpec{RemoteName: h.path("src/late.bin"), LocalName: filepath.Join(dir, "late.bin")}))
	}},
	{"complete", func(h *harness, id, _ string) string { return answer(h.m.Complete(id)) }},
	{"cancel", func(h *harness, id, _ string) string { return answer(h.m.Cancel(id)) }},
	{"resume", func(h *harness, id, _ string) string { return plain(h.m.Resume(id)) }},
	{"suspend", func(h *harness, id, _ string) string { return plain(h.m.Suspend(id)) }},
	{"setpriority", func(h *harness, id, _ string) string { return plain(h.m.SetPriority(id, bits.PriorityHigh)) }},
	{"setdescription", func(h *harness, id, _ string) string { return plain(h.m.SetDescription(id, "changed")) }},
	{"setdisplayname", func(h *harness, id, _ string) string { return plain(h.m.SetDisplayName(id, "renamed")) }},
	{"takeownership", func(h *harness, id, _ string) string { return plain(h.m.TakeOwnership(id)) }},
	{"setnotifyflags", func(h *harness, id, _ string) string { return plain(h.m.SetNotifyFlags(id, 0x4)) }},
	{"setcustomheaders", func(h *harness, id, _ string) string { return plain(h.m.SetCustomHeaders(id, "X-A: 1")) }},
	{"setnoprogresstimeout", func(h *harness, id, _ string) string { return plain(h.m.SetNoProgressTimeout(id, 600)) }},
	{"setproxysettings", func(h *harness, id, _ string) string {
		return plain(h.m.SetProxySettings(id, bits.ProxyNoProxy, "", ""))
	}},
	{"replaceremoteprefix", func(h *harness, id, _ string) string {
		u := (&url.URL{Scheme: "file", Path: h.path("src")}).String()
		return answer(h.m.ReplaceRemotePrefix(id, h.path("src"), u))
	}},
	{"setcredentials", func(h *harness, id, _ string) string {
		return plain(h.m.SetCredentials(id, bits.Credential{Target: bits.AuthTargetServer, Scheme: bits.AuthBasic, UserName: "u", Password: "p"}))
	}},
	{"setdynamic", func(h *harness, id, _ string) string { return plain(h.m.SetDynamic(id, true)) }},
}

// pairJob makes a TRANSFERRED job of three files in a directory of its own.
func pairJob(h *harness, n int) (id, dir string) {
	h.t.Helper()
	dir = h.path(fmt.Sprintf("job%04d", n))
	h.must(os.Mkdir(dir, 0o755))
	in, err := h.m.CreateJob("pair", bits.TypeDownload)
	h.must(err)
	var specs []FileSpec
	for _, f := range []string{"a.bin", "b.bin", "c.bin"} {
		specs = append(specs, FileSpec{RemoteName: h.path("src/" + f), LocalName: filepath.Join(dir, f)})
	}
	h.must(h.m.AddFileSet(in.ID, specs))
	h.must(h.m.SetPriority(in.ID, bits.PriorityForeground))
	h.must(h.m.Resume(in.ID))
	return in.ID, dir
}

// settleJob waits until nothing moves the job any more: no transfer, no
// operation holding it, a state that only a caller changes.
func settleJob(h *harness, id string) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.m.mu.Lock()
		e := h.m.jobs[id]
		busy := e != nil && (e.worker != nil || e.hold > 0 || e.job.State == bits.StateQueued || e.job.State.Active())
		h.m.mu.Unlock()
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("job %s does not settle", id)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// outcome is what a caller and a user can observe: the answers, the job's
// public record, and the job directory's files.
func outcome(h *harness, id, dir string, answers ...string) string {
	h.t.Helper()
	settleJob(h, id)
	var rec any = "gone"
	if in, err := h.m.Info(id); err == nil {
		b, _ := json.Marshal(in)
		var m map[string]any
		h.must(json.Unmarshal(b, &m))
		delete(m, "id")
		delete(m, "times")
		rec = m
	}
	b, _ := json.Marshal(rec)
	var disk []string
	ents, err := os.ReadDir(dir)
	h.must(err)
	temps := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".BIT") {
			temps++
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		h.must(err)
		s := sha256.Sum256(data)
		disk = append(disk, e.Name()+"="+hex.EncodeToString(s[:4]))
	}
	sort.Strings(disk)
	// The job's own directory is named in its record, JSON-escaped
	// (backslashes on Windows): it is the one difference between jobs.
	q, _ := json.Marshal(dir)
	rs := strings.ReplaceAll(string(b), strings.Trim(string(q), `"`), "DIR")
	return fmt.Sprintf("answers %v\nrecord %s\ndisk %v, %d temporary files", answers, rs, disk, temps)
}

func pairSources(t *testing.T, h *harness) {
	h.must(os.Mkdir(h.path("src"), 0o755))
	for i, f := range []string{"a.bin", "b.bin", "c.bin", "late.bin"} {
		h.must(os.WriteFile(h.path("src/"+f), []byte(strings.Repeat(string(rune('a'+i)), 3000+i)), 0o644))
	}
}

func TestEveryPairOfMutationsIsSerialisable(t *testing.T) {
	h := newHarness(t)
	pairSources(t, h)
	h.must(h.m.SetSetting(KeyMaxJobsPerUser, "100000"))
	h.must(h.m.SetSetting(KeyMaxJobsPerMachine, "100000"))
	n := 0
	next := func() (string, string) {
		n++
		return pairJob(h, n)
	}
	ready := func(id string) {
		settleJob(h, id)
		if s := h.info(id).State; s != bits.StateTransferred {
			t.Fatalf("setup: job %s is %s", id, s)
		}
	}
	rounds := func(a, b mutation) int {
		if a.name == "complete" && b.name == "addfile" || a.name == "addfile" && b.name == "complete" {
			return 15 // the race the issue saw in 4 of 15 rounds
		}
		return 1
	}
	for i, a := range mutations {
		for _, b := range mutations[i:] {
			// The two orders, one after the other.
			id1, dir1 := next()
			id2, dir2 := next()
			ready(id1)
			ready(id2)
			ab1 := a.run(h, id1, dir1)
			ab2 := b.run(h, id1, dir1)
			ab := outcome(h, id1, dir1, ab1, ab2)
			ba2 := b.run(h, id2, dir2)
			ba1 := a.run(h, id2, dir2)
			ba := outcome(h, id2, dir2, ba1, ba2)
			for r := 0; r < rounds(a, b); r++ {
				id, dir := next()
				ready(id)
				var ra, rb string
				var wg sync.WaitGroup
				start := make(chan struct{})
				wg.Add(2)
				go func() { defer wg.Done(); <-start; ra = a.run(h, id, dir) }()
				go func() { defer wg.Done(); <-start; rb = b.run(h, id, dir) }()
				close(start)
				wg.Wait()
				got := outcome(h, id, dir, ra, rb)
				if got != ab && got != ba {
					t.Errorf("%s ‖ %s (round %d) ended in no serial order's outcome:\nconcurrent:\n%s\n%s then %s:\n%s\n%s then %s:\n%s",
						a.name, b.name, r, got, a.name, b.name, ab, b.name, a.name, ba)
				}
			}
		}
	}
	t.Logf("%d jobs", n)
}
