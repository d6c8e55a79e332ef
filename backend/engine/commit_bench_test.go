package engine

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkCommit is one property change through the commit path: a copy,
// a group commit (one fsync of the WAL), the swap and the event.
func BenchmarkCommit(b *testing.B) {
	h := newHarness(b)
	id := h.job("bench")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := h.m.SetDescription(id, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitParallel changes many jobs at once: their commits share
// group commits, so the throughput grows with the callers.
func BenchmarkCommitParallel(b *testing.B) {
	h := newHarness(b)
	var ids []string
	for i := range 32 {
		ids = append(ids, h.job(fmt.Sprint("bench", i)))
	}
	var next atomic.Int64
	before := h.st.WriteStats()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := ids[next.Add(1)%int64(len(ids))]
		for i := 0; pb.Next(); i++ {
			if err := h.m.SetDescription(id, fmt.Sprint(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	after := h.st.WriteStats()
	if c := after.Commits - before.Commits; c > 0 {
		b.ReportMetric(float64(after.Requests-before.Requests)/float64(c), "changes/commit")
	}
}
