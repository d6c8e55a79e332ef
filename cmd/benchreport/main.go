// Command benchreport turns the records of a `make bench` run into
// bench/results/: results.md (a table per case), results.json, a bar chart
// of each case's ratios and a throughput-over-time chart of each series
// CSV, and puts the tables and charts into the README's Performance
// section. It is a tool of the build, not part of ferry. The record format
// is at the top of scripts/bench.sh and in the README.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The README's region that a run rewrites.
const (
	readmeBegin = "<!-- make bench writes from here: the latest run -->"
	readmeEnd   = "<!-- make bench writes up to here -->"
)

// Options are the command's flags.
type Options struct {
	In     string // the records (JSON lines)
	Series string // a directory of series CSVs, or ""
	Out    string // bench/results
	Readme string // the README to update, or ""
	Commit string
	Now    time.Time
}

func main() {
	var o Options
	flag.StringVar(&o.In, "in", "", "the records file (JSON lines, one record each)")
	flag.StringVar(&o.Series, "series", "", "a directory of time-series CSVs ("+SeriesHeader+")")
	flag.StringVar(&o.Out, "out", "bench/results", "the results directory")
	flag.StringVar(&o.Readme, "readme", "", "a README whose Performance region gets the tables and charts")
	flag.StringVar(&o.Commit, "commit", "", "the commit that was measured")
	flag.Parse()
	if o.In == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: benchreport -in RECORDS [-series DIR] [-out DIR] [-readme README.md] [-commit REV]")
		os.Exit(2)
	}
	o.Now = time.Now()
	if err := Run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// Run writes the report of o.In to o.Out.
func Run(o Options) error {
	f, err := os.Open(o.In)
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	recs, err := ReadRecords(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", o.In, err)
	}
	rep, err := Build(recs, o.Now, o.Commit)
	if err != nil {
		return fmt.Errorf("%s: %w", o.In, err)
	}
	csvs := map[string][]byte{}
	if o.Series != "" {
		names, err := filepath.Glob(filepath.Join(o.Series, "*.csv"))
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return fmt.Errorf("series: %w", err)
			}
			base := strings.TrimSuffix(filepath.Base(n), ".csv")
			s, err := ReadSeries(base, strings.NewReader(string(data)))
			if err != nil {
				return err
			}
			s.CSV = fileName(base) + ".csv"
			s.Chart = fileName(base) + "-throughput.png"
			csvs[s.CSV] = data
			rep.Series = append(rep.Series, s)
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	if err := removeOld(o.Out); err != nil {
		return err
	}
	for i := range rep.Cases {
		png, err := RatioChart(rep.Cases[i])
		if err != nil {
			return fmt.Errorf("case %s: %w", rep.Cases[i].Name, err)
		}
		if png == nil {
			continue
		}
		name := fileName(rep.Cases[i].Name) + "-ratios.png"
		if err := writeFile(filepath.Join(o.Out, name), png); err != nil {
			return err
		}
		rep.Cases[i].Chart = name
		rep.Files = append(rep.Files, name)
	}
	for _, s := range rep.Series {
		png, err := SeriesChart(s)
		if err != nil {
			return fmt.Errorf("series %s: %w", s.Name, err)
		}
		if err := writeFile(filepath.Join(o.Out, s.Chart), png); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(o.Out, s.CSV), csvs[s.CSV]); err != nil {
			return err
		}
		rep.Files = append(rep.Files, s.Chart, s.CSV)
	}
	md := "# Ferry benchmarks\n\n" + Markdown(rep, 2, "")
	if err := writeFile(filepath.Join(o.Out, "results.md"), []byte(md)); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(o.Out, "results.json"), append(js, '\n')); err != nil {
		return err
	}
	if o.Readme == "" {
		return nil
	}
	doc, err := os.ReadFile(o.Readme)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(o.Readme), o.Out)
	if err != nil {
		return err
	}
	body := Markdown(rep, 4, filepath.ToSlash(rel)+"/")
	updated, err := ReplaceRegion(string(doc), readmeBegin, readmeEnd, body)
	if err != nil {
		return fmt.Errorf("%s: %w", o.Readme, err)
	}
	return writeFile(o.Readme, []byte(updated))
}

// removeOld deletes the charts and CSVs that the previous report listed
// in its results.json, and nothing else: the directory is the user's.
func removeOld(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var old struct {
		Files []string `json:"files"`
	}
	if err := json.Unmarshal(data, &old); err != nil {
		return fmt.Errorf("the previous %s: %w", filepath.Join(dir, "results.json"), err)
	}
	for _, n := range old.Files {
		if n != filepath.Base(n) || (!strings.HasSuffix(n, ".png") && !strings.HasSuffix(n, ".csv")) {
			continue // not one of ours
		}
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
