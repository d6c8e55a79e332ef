package ops_test

import (
	"bytes"
	"testing"
	"time"

	"ferry/backend/api/wire"
	"ferry/backend/bits"
	"ferry/backend/ops"
)

// list's streamed answer is byte for byte the array it encoded whole.
func TestJobListWritesWhatMarshalWrote(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	jobs := []*bits.Job{
		{ID: "a", DisplayName: "<one> & two", CreationTime: at, State: bits.StateSuspended,
			Files: []bits.File{{RemoteName: "http://h/x?a=1&b=<2>", LocalName: "/tmp/x", BytesTotal: -1}, {RemoteName: "file:///y", LocalName: "/tmp/y"}}},
		{ID: "b", Error: &bits.JobError{Code: bits.E_FAIL, FileIndex: 0}, State: bits.StateError, Files: []bits.File{}},
	}
	for _, files := range []bool{false, true} {
		for _, js := range [][]*bits.Job{nil, jobs} {
			infos := make([]bits.JobInfo, 0, len(js))
			for _, j := range js {
				infos = append(infos, j.Info(files))
			}
			want, err := wire.Marshal(infos)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := (ops.JobList{Jobs: js, Files: files}).WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			whole, err := wire.Marshal(ops.JobList{Jobs: js, Files: files})
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) || string(whole) != string(want) {
				t.Fatalf("files=%v:\nstreamed %s\nwhole    %s\nwant     %s", files, got.String(), whole, want)
			}
		}
	}
}
