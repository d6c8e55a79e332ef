package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Report is what results.json holds: the tables of results.md, in data.
type Report struct {
	Generated time.Time `json:"generated"`
	Commit    string    `json:"commit,omitempty"`
	Notes     []string  `json:"notes,omitempty"`
	Cases     []Case    `json:"cases"`
	Series    []Series  `json:"series,omitempty"`
	// Files are the files the report wrote beside results.json; the next
	// report removes them first, so a case left out of a run leaves no
	// chart of an older run behind.
	Files   []string `json:"files"`
	Records []Record `json:"records"`
}

// Case is one table: a row per metric, a column per tool.
type Case struct {
	Name  string   `json:"case"`
	Notes []string `json:"notes,omitempty"`
	Tools []string `json:"tools"`
	Rows  []Row    `json:"rows"`
	Chart string   `json:"chart,omitempty"`
}

// Row is one figure of a case, measured by one or more tools.
type Row struct {
	Metric string  `json:"metric"`
	Values []Value `json:"values"`
	Checks []Check `json:"checks,omitempty"`
}

// Value is one tool's measurement.
type Value struct {
	Tool  string  `json:"tool"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// Check is a ratio and/or a target of one tool's value.
type Check struct {
	Tool   string   `json:"tool"`
	Vs     string   `json:"vs,omitempty"`
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target,omitempty"`
	Met    *bool    `json:"met,omitempty"`

	unit string // the value's, for the target's text
}

// Build groups records into cases (in the order they first appear), rows
// and checks, computing ratios from vs where the case did not.
func Build(recs []Record, now time.Time, commit string) (*Report, error) {
	rep := &Report{Generated: now.UTC().Truncate(time.Second), Commit: commit, Records: recs, Files: []string{}}
	if rep.Records == nil {
		rep.Records = []Record{}
	}
	type key struct{ c, m, t string }
	values := map[key]Record{}
	for _, r := range recs {
		if r.isNote() {
			continue
		}
		k := key{r.Case, r.Metric, r.Tool}
		if old, ok := values[k]; ok && *old.Value != *r.Value {
			return nil, fmt.Errorf("case %q, metric %q: tool %q has two values (%v and %v)", r.Case, r.Metric, r.Tool, *old.Value, *r.Value)
		}
		values[k] = r
	}
	cases := map[string]*Case{}
	caseOf := func(name string) *Case {
		c, ok := cases[name]
		if !ok {
			c = &Case{Name: name}
			cases[name] = c
			rep.Cases = append(rep.Cases, Case{Name: name}) // placeholder, for order
		}
		return c
	}
	rows := map[[2]string]int{} // (case, metric) -> index in the case's rows
	seen := map[key]bool{}
	for _, r := range recs {
		if r.isNote() {
			if r.Case == "" {
				rep.Notes = append(rep.Notes, r.Note)
			} else {
				c := caseOf(r.Case)
				c.Notes = append(c.Notes, r.Note)
			}
			continue
		}
		c := caseOf(r.Case)
		ri, ok := rows[[2]string{r.Case, r.Metric}]
		if !ok {
			ri = len(c.Rows)
			rows[[2]string{r.Case, r.Metric}] = ri
			c.Rows = append(c.Rows, Row{Metric: r.Metric})
		}
		row := &c.Rows[ri]
		k := key{r.Case, r.Metric, r.Tool}
		if !seen[k] {
			seen[k] = true
			row.Values = append(row.Values, Value{Tool: r.Tool, Value: *r.Value, Unit: r.Unit})
			if !contains(c.Tools, r.Tool) {
				c.Tools = append(c.Tools, r.Tool)
			}
		}
		if r.Vs == "" && r.Ratio == nil && r.Target == "" {
			continue
		}
		ch := Check{Tool: r.Tool, Vs: r.Vs, Ratio: r.Ratio, Target: r.Target, unit: r.Unit}
		if ch.Ratio == nil && r.Vs != "" {
			base, ok := values[key{r.Case, r.Metric, r.Vs}]
			if !ok {
				return nil, fmt.Errorf("case %q, metric %q: tool %q is compared with %q, which has no value there", r.Case, r.Metric, r.Tool, r.Vs)
			}
			if *base.Value == 0 {
				return nil, fmt.Errorf("case %q, metric %q: %q's value is 0, no ratio to it", r.Case, r.Metric, r.Vs)
			}
			q := *r.Value / *base.Value
			ch.Ratio = &q
		}
		if r.Target != "" {
			t, err := ParseTarget(r.Target)
			if err != nil {
				return nil, err
			}
			x := *r.Value
			if t.OnRatio {
				x = *ch.Ratio
			}
			met := t.Met(x)
			ch.Met = &met
		}
		row.Checks = append(row.Checks, ch)
	}
	for i := range rep.Cases {
		c := cases[rep.Cases[i].Name]
		sortTools(c.Tools)
		for j := range c.Rows {
			order := c.Rows[j].Values
			sort.SliceStable(order, func(a, b int) bool { return toolRank(order[a].Tool) < toolRank(order[b].Tool) })
		}
		rep.Cases[i] = *c
	}
	if rep.Cases == nil {
		rep.Cases = []Case{}
	}
	return rep, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// toolRank puts Ferry first, then curl, then aria2c, then the rest in the
// order they came: the columns the tables have.
func toolRank(tool string) int {
	t := strings.ToLower(tool)
	switch {
	case strings.HasPrefix(t, "ferry"):
		return 0
	case strings.HasPrefix(t, "curl"):
		return 1
	case strings.HasPrefix(t, "aria2"):
		return 2
	}
	return 3
}

func sortTools(tools []string) {
	sort.SliceStable(tools, func(a, b int) bool { return toolRank(tools[a]) < toolRank(tools[b]) })
}

// displayTool capitalises the product's name; other tools keep theirs.
func displayTool(t string) string {
	if t == "ferry" {
		return "Ferry"
	}
	if strings.HasPrefix(t, "ferry ") {
		return "Ferry" + t[len("ferry"):]
	}
	return t
}

// formatNumber keeps about three significant digits, without trailing
// zeros or exponents for the sizes a benchmark sees.
func formatNumber(x float64) string {
	a := math.Abs(x)
	prec := 2
	switch {
	case a >= 100:
		prec = 0
	case a >= 10:
		prec = 1
	case a < 0.01 && a != 0:
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
	s := strconv.FormatFloat(x, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func formatValue(v Value) string {
	return strings.TrimSpace(formatNumber(v.Value) + " " + v.Unit)
}

func formatRatio(r float64) string {
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

// ratioText is a check's ratio as the table shows it: "0.86× curl" for
// Ferry's, "curl beside Ferry: 0.92× curl alone" for another tool's.
func (ch Check) ratioText() string {
	if ch.Ratio == nil {
		return ""
	}
	s := formatRatio(*ch.Ratio)
	if ch.Vs != "" {
		s += " " + displayTool(ch.Vs)
	}
	if ch.Tool != "ferry" {
		s = displayTool(ch.Tool) + ": " + s
	}
	return s
}

func (ch Check) targetText() string {
	if ch.Target == "" {
		return ""
	}
	t, err := ParseTarget(ch.Target)
	if err != nil {
		return ch.Target
	}
	return t.String(ch.unit)
}

func (ch Check) metText() string {
	switch {
	case ch.Met == nil:
		return ""
	case *ch.Met:
		return "met"
	}
	return "**not met**"
}
