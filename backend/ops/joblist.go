package ops

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"ferry/backend/bits"
)

// JobList is list's result: the JSON array of the jobs' bits.JobInfo (with
// their files when Files is set). WriteJSON renders and encodes one job at
// a time straight to the answer, so that a long list is never held whole
// (10,000 jobs of 10 files: 30 MB of JSON, and as much again of JobInfo,
// which an engine kept as resident memory after answering).
type JobList struct {
	Jobs  []*bits.Job // immutable records (engine.Manager.Jobs)
	Files bool
}

// WriteJSON writes the array as MarshalJSON makes it.
func (l JobList) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as wire.Marshal
	bw.WriteByte('[')
	for i, j := range l.Jobs {
		if i > 0 {
			bw.WriteByte(',')
		}
		buf.Reset()
		if err := enc.Encode(j.Info(l.Files)); err != nil {
			return err
		}
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	bw.WriteByte(']')
	return bw.Flush()
}

// MarshalJSON is the whole array at once, for callers that need it whole.
func (l JobList) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := l.WriteJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
