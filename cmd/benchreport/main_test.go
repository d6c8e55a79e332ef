package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A run's records as the cases write them: big compares Ferry with curl
// (and aria2c), cli has an absolute target, yield a given ratio that
// misses its target.
const records = `
{"case":"","note":"load average 0.50 at the start."}
{"case":"big","note":"1024 MiB, best of 3 runs."}
{"case":"big","metric":"wall time","tool":"curl","value":1.18,"unit":"s"}
{"case":"big","metric":"wall time","tool":"aria2c","value":3.49,"unit":"s"}
{"case":"big","metric":"wall time","tool":"ferry","value":1.01,"unit":"s","vs":"curl","target":"ratio<=1"}
{"case":"big","metric":"wall time","tool":"ferry","value":1.01,"unit":"s","vs":"aria2c"}

{"case":"cli","metric":"peak RSS","tool":"ferry","value":12.2,"unit":"MiB","target":"value<=20"}
{"case":"cli","metric":"peak RSS","tool":"trivial Go program","value":1.8,"unit":"MiB"}
{"case":"yield","metric":"curl's throughput, plain link","tool":"curl beside Ferry LOW","value":2.0,"unit":"MB/s","vs":"curl alone","ratio":0.31,"target":"ratio>=0.9"}
`

const series = `scenario,t_seconds,bytes_per_second
curl alone,0,6000000
curl alone,1,6200000
curl beside Ferry LOW,1,2000000
curl beside Ferry LOW,0,1800000
Ferry LOW alone,0,5800000
`

func TestRunWritesTablesJSONAndCharts(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "records.jsonl")
	ser := filepath.Join(dir, "series")
	out := filepath.Join(dir, "results")
	readme := filepath.Join(dir, "README.md")
	must(t, os.WriteFile(in, []byte(records), 0o644))
	must(t, os.MkdirAll(ser, 0o755))
	must(t, os.WriteFile(filepath.Join(ser, "yield.csv"), []byte(series), 0o644))
	must(t, os.WriteFile(readme, []byte("# X\n\n## Performance\n\n"+readmeBegin+"\nold table\n"+readmeEnd+"\n\n## Next\n"), 0o644))
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	must(t, Run(Options{In: in, Series: ser, Out: out, Readme: readme, Commit: "abc123", Now: now}))

	md := read(t, filepath.Join(out, "results.md"))
	for _, want := range []string{
		"Generated 2026-05-01 12:00 UTC at commit abc123 by `make bench`. load average 0.50 at the start.",
		"## big\n\n1024 MiB, best of 3 runs.\n\n| figure | Ferry | curl | aria2c | ratio | target | met |",
		"| wall time | 1.01 s | 1.18 s | 3.49 s | 0.86× curl<br>0.29× aria2c | ≤ 1×<br>– | met<br>– |",
		"| figure | Ferry | trivial Go program | ratio | target | met |",
		"| peak RSS | 12.2 MiB | 1.8 MiB |  | ≤ 20 MiB | met |",
		"| curl's throughput, plain link | 2 MB/s | curl beside Ferry LOW: 0.31× curl alone | ≥ 0.9× | **not met** |",
		"![big: ratios](big-ratios.png)",
		"## Throughput over time: yield",
		"![yield: throughput over time](yield-throughput.png)",
		"| curl alone | 48.8 Mbit/s | 1 | 2 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "cli-ratios.png") {
		t.Errorf("cli has no ratio, yet a ratio chart:\n%s", md)
	}

	var rep Report
	must(t, json.Unmarshal([]byte(read(t, filepath.Join(out, "results.json"))), &rep))
	if len(rep.Cases) != 3 || rep.Cases[0].Name != "big" || rep.Cases[1].Name != "cli" || rep.Cases[2].Name != "yield" {
		t.Fatalf("cases = %+v", rep.Cases)
	}
	big := rep.Cases[0].Rows[0]
	if len(big.Checks) != 2 || big.Checks[0].Ratio == nil || *big.Checks[0].Met != true || big.Checks[1].Met != nil {
		t.Errorf("big's checks = %+v", big.Checks)
	}
	if r := *big.Checks[0].Ratio; r < 0.855 || r > 0.857 {
		t.Errorf("Ferry/curl = %v, want 1.01/1.18", r)
	}
	if y := rep.Cases[2].Rows[0].Checks[0]; *y.Met {
		t.Errorf("yield's 0.31 met ratio>=0.9: %+v", y)
	}
	if len(rep.Records) != 9 || len(rep.Series) != 1 || len(rep.Series[0].Scenarios) != 3 {
		t.Errorf("records %d, series %+v", len(rep.Records), rep.Series)
	}
	if got := rep.Series[0].Scenarios[1].Points[0][0]; got != 0 {
		t.Errorf("points are not sorted by time: %v", rep.Series[0].Scenarios[1].Points)
	}

	for _, name := range []string{"big-ratios.png", "yield-ratios.png", "yield-throughput.png"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
			t.Errorf("%s is %v", name, b)
		}
	}
	if read(t, filepath.Join(out, "yield.csv")) != series {
		t.Error("the series CSV was not copied beside its chart")
	}

	doc := read(t, readme)
	if strings.Contains(doc, "old table") || !strings.Contains(doc, "#### big") ||
		!strings.Contains(doc, "![big: ratios](results/big-ratios.png)") || !strings.HasSuffix(doc, readmeEnd+"\n\n## Next\n") {
		t.Errorf("README:\n%s", doc)
	}

	// A run of one case leaves no chart of the previous run behind, and
	// keeps files the report did not write.
	must(t, os.WriteFile(filepath.Join(out, "mine.png"), []byte("x"), 0o644))
	must(t, os.WriteFile(in, []byte(`{"case":"big","metric":"wall time","tool":"ferry","value":1,"unit":"s"}`+"\n"), 0o644))
	must(t, Run(Options{In: in, Out: out, Now: now}))
	for name, want := range map[string]bool{"yield-ratios.png": false, "yield-throughput.png": false, "yield.csv": false, "big-ratios.png": false, "mine.png": true} {
		if _, err := os.Stat(filepath.Join(out, name)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", name, err == nil, want)
		}
	}
}

func TestBadRecordsAreRefused(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"case":"big","metric":"wall","tool":"ferry","value":1,"unti":"s"}`, `unknown field "unti"`},
		{`{"case":"big","metric":"wall","tool":"ferry"}`, "value is missing"},
		{`{"case":"big","tool":"ferry","value":1}`, "metric is missing"},
		{`{"case":"big","metric":"wall","tool":"ferry","value":1,"target":"ratio<1"}`, "want ratio<=N"},
		{`{"case":"big","metric":"wall","tool":"ferry","value":1,"target":"ratio<=1"}`, "neither ratio nor vs"},
		{`{"case":"big","metric":"wall","tool":"ferry","value":1} {"case":"x"}`, "more than one JSON value"},
		{`{"case":"big","note":"n","value":1}`, "a note has only case and note"},
	} {
		_, err := ReadRecords(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.want)
		}
	}
	recs, err := ReadRecords(strings.NewReader(`{"case":"big","metric":"wall","tool":"ferry","value":1,"vs":"curl"}`))
	must(t, err)
	if _, err := Build(recs, time.Now(), ""); err == nil || !strings.Contains(err.Error(), `compared with "curl", which has no value there`) {
		t.Errorf("a ratio to a missing tool: %v", err)
	}
	if _, err := ReadSeries("y", strings.NewReader("scenario,t,bps\n")); err == nil || !strings.Contains(err.Error(), "want") {
		t.Errorf("a series with another header: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
