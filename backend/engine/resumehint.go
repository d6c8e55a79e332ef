package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ferry/backend/bits"
	"ferry/backend/internal/bootid"
	"ferry/backend/transfer"
)

// A resume hint lets a download restarted after a crash of the engine's
// process (kill -9, a panic, the OOM killer) go on from the bytes it had
// written rather than from its last checkpoint, without ever trusting a
// byte that a power cut could have lost or garbled.
//
// A checkpoint (fsync, then a commit) is a fact that survives anything. The
// bytes written since are in the kernel's page cache: a killed process loses
// none of the write() calls that returned, but a reboot may lose any of them,
// in any order, and leave zeros or stale blocks instead. So the hint is
// trusted only in the boot that wrote it (bootid), and it states only what
// returned writes prove:
//
//   - One stream (seq): the run writes sequentially through the file's
//     position from From, set before its first write (Sized). Every byte in
//     [From, size) came from a write that returned (a write cut short by the
//     kill extends the size only by what it copied), and [0, From) was
//     trusted when the run began. So the file's size is the offset.
//   - Segments: the file's size says nothing (the segments write at
//     scattered offsets, past holes). The hint holds the segment table's
//     Snapshot, whose Done counts only returned WriteAts, rewritten every
//     hintEvery bytes; the bytes since its last rewrite are fetched again.
//
// The hint is written (never fsynced) before the writes it describes, and
// cleared before Reset truncates the file, so it never describes bytes of
// another version; it is trusted only for the very temporary file
// (identity) and a version that agrees with the recorded one. A torn hint
// (the kill landed in its write) fails its checksum and is ignored. The
// hint never moves a checkpoint: a restart that trusts it records the
// offset at its own next checkpoint, after an fsync, as always.

// A download in segments rewrites its hint once hintEvery bytes were
// written since the last rewrite, and hintGap has passed: what a crash can
// cost beyond the bytes in flight is the larger of the two (64 KiB on a
// slow link, 5 ms of transfer on a fast one, where 200 small writes a
// second cost nothing).
const (
	hintEvery = 64 << 10
	hintGap   = 5 * time.Millisecond
)

// bootID is this boot's identity (a variable for the tests' "reboot").
var bootID = bootid.ID

// hint is what the file holds, as JSON after a checksummed header.
type hint struct {
	Boot   string         `json:"boot"`
	TempID string         `json:"tempId"`
	V      bits.Validator `json:"v"`
	Seq    bool           `json:"seq,omitempty"`
	From   int64          `json:"from,omitempty"`
	Segs   []bits.Segment `json:"segs,omitempty"`
}

// hintFile is one temporary file's hint, open while it is written.
type hintFile struct {
	f       *os.File
	size    int       // bytes in f
	pending int64     // bytes written since the last rewrite (segments)
	last    time.Time // the last rewrite
}

// hintPath names the hint of a temporary file in dir.
func hintPath(dir, temp string) string {
	sum := sha256.Sum256([]byte(temp))
	return filepath.Join(dir, hex.EncodeToString(sum[:12])+".hint")
}

// openHint opens (creating) the hint of temp; nil without a hint dir.
func (m *Manager) openHint(temp string) (*hintFile, error) {
	if m.cfg.HintDir == "" || bootID() == "" {
		return nil, nil
	}
	if err := os.MkdirAll(m.cfg.HintDir, 0o700); err != nil {
		return nil, fmt.Errorf("resume hints: %w", err)
	}
	f, err := os.OpenFile(hintPath(m.cfg.HintDir, temp), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("resume hint: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("resume hint: %w", err)
	}
	return &hintFile{f: f, size: int(st.Size())}, nil
}

// put replaces the hint: one write at offset 0, then a truncation if it
// shrank (a kill between the two leaves bytes after the checksummed
// length, which read ignores).
func (h *hintFile) put(x hint, now time.Time) error {
	if h == nil {
		return nil
	}
	x.Boot = bootID()
	body, err := json.Marshal(x)
	if err != nil {
		return err
	}
	buf := fmt.Appendf(nil, "FERRYHINT1 %d %08x\n", len(body), crc32.ChecksumIEEE(body))
	buf = append(buf, body...)
	if _, err := h.f.WriteAt(buf, 0); err != nil {
		return fmt.Errorf("resume hint: %w", err)
	}
	if len(buf) < h.size {
		if err := h.f.Truncate(int64(len(buf))); err != nil {
			return fmt.Errorf("resume hint: %w", err)
		}
	}
	h.size = len(buf)
	h.pending = 0
	h.last = now
	return nil
}

// clear empties the hint before the bytes it describes are discarded.
func (h *hintFile) clear() error {
	if h == nil || h.size == 0 {
		return nil
	}
	if err := h.f.Truncate(0); err != nil {
		return fmt.Errorf("resume hint: %w", err)
	}
	h.size = 0
	return nil
}

func (h *hintFile) close() {
	if h != nil {
		h.f.Close()
	}
}

// readHint returns temp's hint when it was written in this boot; false for
// none, another boot's, or a torn one.
func (m *Manager) readHint(temp string) (hint, bool) {
	if m.cfg.HintDir == "" || bootID() == "" {
		return hint{}, false
	}
	b, err := os.ReadFile(hintPath(m.cfg.HintDir, temp))
	if err != nil {
		return hint{}, false
	}
	head, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return hint{}, false
	}
	var n int
	var sum uint32
	if _, err := fmt.Sscanf(string(head), "FERRYHINT1 %d %08x", &n, &sum); err != nil || n < 0 || n > len(body) {
		return hint{}, false
	}
	body = body[:n]
	if crc32.ChecksumIEEE(body) != sum {
		return hint{}, false
	}
	var x hint
	if err := json.Unmarshal(body, &x); err != nil || x.Boot != bootID() {
		return hint{}, false
	}
	return x, true
}

// removeHint deletes temp's hint (its file is transferred or gone).
func (m *Manager) removeHint(temp string) {
	if m.cfg.HintDir == "" {
		return
	}
	if err := os.Remove(hintPath(m.cfg.HintDir, temp)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		m.log.Debug("could not remove a resume hint", "err", err)
	}
}

// pruneHints removes the hints of files no job is transferring any more
// (Complete, Cancel and a crash before removeHint leave them).
func (m *Manager) pruneHints() {
	if m.cfg.HintDir == "" {
		return
	}
	ents, err := os.ReadDir(m.cfg.HintDir)
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for _, e := range m.jobs {
		for _, f := range e.job.Files {
			if !f.Transferred && f.TempName != "" {
				keep[filepath.Base(hintPath(m.cfg.HintDir, f.TempName))] = true
			}
		}
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".hint") && !keep[e.Name()] {
			_ = os.Remove(filepath.Join(m.cfg.HintDir, e.Name()))
		}
	}
}

// resumeFrom applies a hint of this boot to a reopened temporary file of
// size bytes whose record is f and identity id. It returns the offset of one
// stream, or the segments, that the hint proves beyond the record; ok false
// when the record is to be used as it is.
func resumeFrom(x hint, f bits.File, id string, size int64) (off int64, segs []bits.Segment, ok bool) {
	if x.TempID == "" || x.TempID != id || x.V.Zero() || f.Validator.Zero() || !sameVersion(x.V, f.Validator) {
		return 0, nil, false
	}
	recorded := f.BytesTransferred
	if len(f.Segments) > 0 {
		recorded = bits.SegmentBytes(f.Segments)
	}
	switch {
	case x.Seq:
		// One stream: only over a record of one stream, and only forwards.
		// [0, From) was trusted when the run began (the record, or a hint
		// of this boot), so From may be past the record.
		if len(f.Segments) > 0 || x.From > size || size <= f.BytesTransferred {
			return 0, nil, false
		}
		if x.V.Size >= 0 && size > x.V.Size {
			return 0, nil, false
		}
		return size, nil, true
	case len(x.Segs) > 0:
		if x.V.Size <= 0 || !transfer.ValidSegments(x.V.Size, x.Segs) || segmentsEnd(x.Segs) > size || bits.SegmentBytes(x.Segs) <= recorded {
			return 0, nil, false
		}
		return bits.SegmentBytes(x.Segs), x.Segs, true
	}
	return 0, nil, false
}

// due reports a segments hint to rewrite after n more bytes written at
// now.
func (h *hintFile) due(n int, now time.Time) bool {
	if h == nil {
		return false
	}
	h.pending += int64(n)
	return h.pending >= hintEvery && now.Sub(h.last) >= hintGap
}
