package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"ferry/backend/bits"
	"ferry/backend/cli"
	"ferry/backend/engine"
	"ferry/backend/web"
)

// The actions offered per state by the window (the tray's Suspend all /
// Resume all), the browser UI (the verbs in /v1/meta, which the frontend's
// allowed() reads) and the CLI's help all come from one declaration:
// changing it changes all three.
func TestActionsFollowTheOneDeclaration(t *testing.T) {
	job := func(typ bits.JobType, s bits.JobState) bits.JobInfo {
		return bits.JobInfo{Type: typ, State: s, Progress: bits.JobProgress{FilesTotal: 1}}
	}
	metaActs := func(name string, typ bits.JobType) []string {
		raw, err := json.Marshal(web.BuildMeta("test"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Ops []struct {
				Name string `json:"name"`
				Verb *struct {
					Acts map[string][]string `json:"acts"`
				} `json:"verb"`
			} `json:"ops"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		for _, op := range m.Ops {
			if op.Name == name && op.Verb != nil {
				return op.Verb.Acts[typ.String()]
			}
		}
		t.Fatalf("/v1/meta has no verb %s", name)
		return nil
	}
	help := func(name string) string { return cli.HelpText(name) }

	// As declared: a download may be suspended while TRANSFERRING.
	tr := job(bits.TypeDownload, bits.StateTransferring)
	if !suspendable(tr) {
		t.Fatal("the window does not offer Suspend for a TRANSFERRING download")
	}
	if !slices.Contains(metaActs("suspend", bits.TypeDownload), "TRANSFERRING") {
		t.Fatal("/v1/meta does not offer suspend in TRANSFERRING")
	}
	if !strings.Contains(help("suspend"), "TRANSFERRING") {
		t.Fatalf("the help of suspend does not name TRANSFERRING:\n%s", help("suspend"))
	}
	// Complete: a download in any state that is not final, an upload only
	// once TRANSFERRED (bits-reference §4.2).
	if !slices.Contains(metaActs("complete", bits.TypeDownload), "TRANSFERRING") ||
		slices.Contains(metaActs("complete", bits.TypeUpload), "TRANSFERRING") {
		t.Fatalf("/v1/meta's complete: download %v, upload %v", metaActs("complete", bits.TypeDownload), metaActs("complete", bits.TypeUpload))
	}

	// Change the declaration: suspend no longer acts in TRANSFERRING, and
	// resume acts in nothing for downloads.
	sus, res := engine.Verbs["suspend"], engine.Verbs["resume"]
	saved := [2]engine.Verb{*sus, *res}
	t.Cleanup(func() { *sus, *res = saved[0], saved[1] })
	sus.Acts = map[bits.JobType][]bits.JobState{bits.TypeDownload: {bits.StateQueued}}
	res.Acts = map[bits.JobType][]bits.JobState{bits.TypeUpload: {bits.StateSuspended}}

	if suspendable(tr) {
		t.Error("the window still offers Suspend for a TRANSFERRING download")
	}
	if !suspendable(job(bits.TypeDownload, bits.StateQueued)) {
		t.Error("the window does not offer Suspend for a QUEUED download")
	}
	if resumable(job(bits.TypeDownload, bits.StateSuspended)) || !resumable(job(bits.TypeUpload, bits.StateSuspended)) {
		t.Error("the window's Resume all does not follow the declaration")
	}
	if got := metaActs("suspend", bits.TypeDownload); !slices.Equal(got, []string{"QUEUED"}) {
		t.Errorf("/v1/meta's suspend for downloads = %v, want [QUEUED]", got)
	}
	if got := metaActs("resume", bits.TypeDownload); len(got) != 0 {
		t.Errorf("/v1/meta's resume for downloads = %v, want none", got)
	}
	h := help("suspend")
	if strings.Contains(h, "TRANSFERRING") || !strings.Contains(h, "DOWNLOAD:     QUEUED") {
		t.Errorf("the help of suspend does not follow the declaration:\n%s", h)
	}
}
