package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateFixtures = flag.Bool("update", false, "rewrite the frontend's fixtures from the table")

// The frontend's tests of allowed() read the verbs of /v1/meta from a
// fixture; this keeps the fixture equal to what the table declares (go test
// ./backend/web -run Verbs -update rewrites it).
func TestMetaVerbsFixtureMatchesTheTable(t *testing.T) {
	type opVerb struct {
		Name string `json:"name"`
		Verb any    `json:"verb"`
	}
	var out []opVerb
	for _, op := range BuildMeta("").Ops {
		if op.Verb != nil {
			out = append(out, opVerb{op.Name, op.Verb})
		}
	}
	if len(out) < 4 {
		t.Fatalf("only %d verbs in the meta", len(out))
	}
	want, err := json.MarshalIndent(map[string]any{"ops": out}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	path := filepath.Join("..", "..", "frontend", "src", "testdata", "verbs.json")
	if *updateFixtures {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the table declares; run go test ./backend/web -run Verbs -update\nwant:\n%s", path, want)
	}
}
