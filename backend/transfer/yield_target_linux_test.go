//go:build linux && yieldtarget

// The yield targets with throughput bounds (generous ones, 5 s runs), in
// make soak rather than make test: on a loaded 2-core machine the
// delayline forwarder itself is starved at times (scripts/bench-yield.sh
// measures the same for longer). Run it with `make soak`, or
// `go test -tags yieldtarget -run TestYieldOnShapedLink ./backend/transfer` as root.

package transfer

import (
	"fmt"
	"os"
	"testing"
	"time"
)

func TestYieldOnShapedLink(t *testing.T) {
	needNetns(t)

	for _, link := range []struct{ name, delay string }{{"plain", "0"}, {"40ms", "20ms"}} {
		t.Run(link.name, func(t *testing.T) {
			ns := fmt.Sprintf("fy%d%c", os.Getpid()%100000, link.name[0])
			srv, cli := shapedLink(t, ns, link.delay)
			url := startNginxIn(t, srv)
			const secs = 5
			curlAlone := curlRate(t, cli, url, secs)
			// The yielding download alone: it fills the link.
			alone := helperRate(t, cli, url, secs, false)
			// Beside it (started first, as a background job would be), curl keeps its share.
			h := startHelper(t, cli, url, secs+4, false)
			time.Sleep(3 * time.Second)
			curlBeside := curlRate(t, cli, url, secs)
			_ = h.wait(t)
			t.Logf("%s link: curl alone %.1f MB/s, curl beside the yielding job %.1f MB/s (%.0f%%), the job alone %.1f MB/s (%.0f%% of the link)",
				link.name, curlAlone/1e6, curlBeside/1e6, 100*curlBeside/curlAlone, alone/1e6, 100*alone/yieldLinkRate)
			if curlBeside < 0.7*curlAlone {
				t.Errorf("curl kept %.0f%% of its throughput beside a yielding job, want at least 70%%", 100*curlBeside/curlAlone)
			}
			if alone < 0.6*yieldLinkRate {
				t.Errorf("the yielding job alone used %.0f%% of the link, want at least 60%%", 100*alone/yieldLinkRate)
			}
		})
	}
}

func helperRate(t *testing.T, ns, url string, secs int, foreground bool) float64 {
	return startHelper(t, ns, url, secs, foreground).wait(t)
}
