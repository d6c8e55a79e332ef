package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Record is one line of the records file that the bench cases append to
// ($BENCH_OUT). A measurement has Case, Metric, Tool, Value and Unit; it may
// compare itself with another tool's value of the same case and metric (Vs,
// and Ratio when the case computed it) and carry a Target. A note has Case
// (empty for the whole run) and Note only.
type Record struct {
	Case   string   `json:"case"`
	Metric string   `json:"metric,omitempty"`
	Tool   string   `json:"tool,omitempty"`
	Value  *float64 `json:"value,omitempty"`
	Unit   string   `json:"unit,omitempty"`
	Vs     string   `json:"vs,omitempty"`
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target,omitempty"`
	Note   string   `json:"note,omitempty"`
}

// ReadRecords parses JSON lines. Unknown keys are errors: a misspelt key
// would otherwise drop a figure from the report without a word.
func ReadRecords(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var rec Record
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("record %d: %w", n, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("record %d: more than one JSON value on the line", n)
		}
		if err := rec.validate(); err != nil {
			return nil, fmt.Errorf("record %d: %w", n, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading records: %w", err)
	}
	return out, nil
}

func (r Record) isNote() bool { return r.Note != "" && r.Metric == "" }

func (r Record) validate() error {
	if r.isNote() {
		if r.Tool != "" || r.Value != nil || r.Ratio != nil || r.Vs != "" || r.Target != "" {
			return errors.New("a note has only case and note")
		}
		return nil
	}
	switch {
	case r.Case == "":
		return errors.New("case is missing")
	case r.Metric == "":
		return errors.New("metric is missing (or note, for a note)")
	case r.Tool == "":
		return errors.New("tool is missing")
	case r.Value == nil:
		return errors.New("value is missing")
	case r.Vs == r.Tool:
		return fmt.Errorf("vs names the record's own tool %q", r.Tool)
	}
	if r.Target != "" {
		t, err := ParseTarget(r.Target)
		if err != nil {
			return err
		}
		if t.OnRatio && r.Ratio == nil && r.Vs == "" {
			return fmt.Errorf("target %q is on the ratio, but the record has neither ratio nor vs", r.Target)
		}
	}
	return nil
}

// Target is a bound on a record's ratio or value: "ratio<=1.5",
// "value>=14.4".
type Target struct {
	OnRatio bool    // else on the value
	Max     bool    // <=, else >=
	Bound   float64 // the number
}

var targetRE = regexp.MustCompile(`^\s*(ratio|value)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$`)

// ParseTarget reads "ratio<=N", "ratio>=N", "value<=N" or "value>=N".
func ParseTarget(s string) (Target, error) {
	m := targetRE.FindStringSubmatch(s)
	if m == nil {
		return Target{}, fmt.Errorf("target %q: want ratio<=N, ratio>=N, value<=N or value>=N", s)
	}
	b, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	return Target{OnRatio: m[1] == "ratio", Max: m[2] == "<=", Bound: b}, nil
}

// Met says whether x (the ratio or the value, as the target says) meets it.
func (t Target) Met(x float64) bool {
	if t.Max {
		return x <= t.Bound
	}
	return x >= t.Bound
}

// String is the target as the table shows it: "≤ 1.5×", "≥ 14.4 MB/s".
func (t Target) String(unit string) string {
	op := "≥"
	if t.Max {
		op = "≤"
	}
	if t.OnRatio {
		return op + " " + formatNumber(t.Bound) + "×"
	}
	return strings.TrimSpace(op + " " + formatNumber(t.Bound) + " " + unit)
}
