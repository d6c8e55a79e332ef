//go:build unix && soak

package cli_test

// `make soak`: the fleet under load. Not part of `make test` (minutes).

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// metric reads one value of an instance's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	r, err := http.Get(base + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// percentile of sorted values (nearest rank).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// 200 upload jobs at once, of sizes spread evenly on a log scale from
// 1 KiB to 64 MiB, through nginx to two instances on SeaweedFS. Every
// object must arrive identical; it reports the fragments' latency at the
// balancer and the bytes written to the store against the bytes uploaded.
func TestFleetSoak(t *testing.T) {
	jobs := envInt("SOAK_JOBS", 200)
	maxSize := float64(envInt("SOAK_MAX_MIB", 64)) * (1 << 20)
	e := newEnv(t)
	f := newFleet(t, e, 2, "--max-sessions", strconv.Itoa(2*jobs))
	// BITS' default of 60 jobs per user would refuse the 61st.
	e.ok("config", "set", "maxJobsPerUser", strconv.Itoa(jobs+10))
	e.ok("config", "set", "maxJobsPerMachine", strconv.Itoa(jobs+10))
	rng := rand.New(rand.NewPCG(19, 2026))
	type upload struct {
		name, id string
		size     int
		sum      [32]byte
	}
	ups := make([]*upload, jobs)
	var uploaded int64
	buf := make([]byte, int(maxSize))
	for i := range ups {
		size := int(math.Exp(math.Log(1024) + rng.Float64()*(math.Log(maxSize)-math.Log(1024))))
		for j := 0; j < size; j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < size; k++ {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		u := &upload{name: "soak/" + strconv.Itoa(i) + ".bin", size: size, sum: sha256.Sum256(buf[:size])}
		src := e.writeFile("soak-"+strconv.Itoa(i), buf[:size], 0o644)
		u.id = strings.TrimSpace(e.ok("create", "--upload", u.name))
		e.ok("addfile", u.id, f.url+u.name, src)
		e.ok("setminretrydelay", u.id, "5")
		ups[i] = u
		uploaded += int64(size)
	}
	t.Logf("%d upload jobs, %.1f MiB in all", jobs, float64(uploaded)/(1<<20))
	start := time.Now()
	var wg sync.WaitGroup
	for _, u := range ups {
		wg.Add(1)
		go func() { defer wg.Done(); e.ok("resume", u.id) }()
	}
	wg.Wait()
	for _, u := range ups {
		if got := e.ok("wait", u.id, "--timeout", "1800"); got != "TRANSFERRED\n" {
			t.Fatalf("%s: %q", u.name, got)
		}
	}
	elapsed := time.Since(start)
	for _, u := range ups {
		e.ok("complete", u.id)
	}
	bad := 0
	for _, u := range ups {
		got := f.object(t, u.name)
		if s := sha256.Sum256(got); len(got) != u.size || !bytes.Equal(s[:], u.sum[:]) {
			bad++
			t.Errorf("%s: %d bytes in the store, want %d (or its SHA-256 differs)", u.name, len(got), u.size)
		}
	}
	var lat []float64
	var sent int64
	per := map[string]int{}
	errs := 0
	for _, r := range f.requests(t) {
		if r.packet != "fragment" {
			continue
		}
		lat = append(lat, r.seconds)
		sent += r.length
		per[r.upstream]++
		if r.status != 200 {
			errs++
		}
	}
	sort.Float64s(lat)
	var written, stored float64
	for _, s := range f.servers {
		written += metric(t, s.url, "ferry_upload_store_bytes_written_total")
		stored += metric(t, s.url, "ferry_upload_bytes_stored_total")
	}
	t.Logf("SOAK: %d jobs, %.1f MiB uploaded in %.1f s (%.1f MiB/s)", jobs, float64(uploaded)/(1<<20), elapsed.Seconds(),
		float64(uploaded)/(1<<20)/elapsed.Seconds())
	t.Logf("SOAK: %d fragments (%d answered other than 200), per instance %v; latency at the balancer p50 %.3f s, p99 %.3f s, max %.3f s",
		len(lat), errs, per, percentile(lat, 50), percentile(lat, 99), percentile(lat, 100))
	t.Logf("SOAK: corrupted or lost objects: %d of %d", bad, jobs)
	t.Logf("SOAK: bytes uploaded %d, acknowledged %.0f, sent to the store %.0f (%.3f× the upload; staged fragments below 5 MiB are written twice), request bytes at the balancer %d",
		uploaded, stored, written, written/float64(uploaded), sent)
	if left := f.leftovers(t); len(left) != 0 {
		t.Errorf("left in the store: %d objects or multipart uploads, e.g. %v", len(left), left[:min(5, len(left))])
	}
}
