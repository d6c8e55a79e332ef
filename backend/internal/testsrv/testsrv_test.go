package testsrv

import (
	"io"
	"net/http"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		h                string
		size, start, end int64
		status           int
	}{
		{"bytes=0-", 10, 0, 9, 206},
		{"bytes=3-", 10, 3, 9, 206},
		{"bytes=3-5", 10, 3, 5, 206},
		{"bytes=3-50", 10, 3, 9, 206},
		{"bytes=-4", 10, 6, 9, 206},
		{"bytes=10-", 10, 0, 0, 416},
		{"bytes=0-", 0, 0, 0, 416},
		{"bytes=0-1,3-4", 10, 0, 9, 200},
		{"items=0-", 10, 0, 9, 200},
		{"bytes=5-2", 10, 0, 9, 200},
	} {
		s, e, st := parseRange(tc.h, tc.size)
		if s != tc.start || e != tc.end || st != tc.status {
			t.Errorf("%q/%d: got %d-%d %d, want %d-%d %d", tc.h, tc.size, s, e, st, tc.start, tc.end, tc.status)
		}
	}
}

func TestBehaviours(t *testing.T) {
	s := New(t)
	s.Handle("/n", File{Size: 5000, NoLength: true})
	s.Handle("/c", File{Size: 10, ChangeAfter: 1})

	resp, err := http.Head(s.URL("/n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength != -1 {
		t.Fatalf("NoLength HEAD has Content-Length %d", resp.ContentLength)
	}
	resp, err = http.Get(s.URL("/n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ContentLength != -1 || len(b) != 5000 || string(b) != string(s.Body("/n")) {
		t.Fatalf("NoLength GET: length %d, %d bytes", resp.ContentLength, len(b))
	}

	var etags []string
	for i := 0; i < 3; i++ {
		resp, err := http.Head(s.URL("/c"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		etags = append(etags, resp.Header.Get("ETag"))
	}
	if etags[0] == etags[1] || etags[1] != etags[2] {
		t.Fatalf("ChangeAfter 1: ETags %v", etags)
	}
	if log := s.Requests("/c"); len(log) != 3 || log[0].Version != 0 || log[2].Version != 1 {
		t.Fatalf("log %+v", log)
	}
}
