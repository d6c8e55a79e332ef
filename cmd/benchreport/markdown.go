package main

import (
	"fmt"
	"strings"
)

// Markdown renders the report: the run's notes, a table per case with its
// chart, then the throughput-over-time charts. level is the heading level
// of a case; images are linked as imgPrefix + file name.
func Markdown(rep *Report, level int, imgPrefix string) string {
	var b strings.Builder
	h := strings.Repeat("#", level)
	fmt.Fprintf(&b, "Generated %s", rep.Generated.Format("2006-01-02 15:04 MST"))
	if rep.Commit != "" {
		fmt.Fprintf(&b, " at commit %s", rep.Commit)
	}
	b.WriteString(" by `make bench`.")
	for _, n := range rep.Notes {
		b.WriteString(" " + n)
	}
	b.WriteString("\n")
	if len(rep.Cases) == 0 {
		b.WriteString("\nNo case recorded anything.\n")
	}
	for _, c := range rep.Cases {
		fmt.Fprintf(&b, "\n%s %s\n\n", h, c.Name)
		if len(c.Notes) > 0 {
			b.WriteString(strings.Join(c.Notes, " ") + "\n\n")
		}
		cols := []string{"figure"}
		for _, t := range c.Tools {
			cols = append(cols, displayTool(t))
		}
		cols = append(cols, "ratio", "target", "met")
		writeRow(&b, cols)
		sep := make([]string, len(cols))
		for i := range sep {
			sep[i] = "---"
		}
		writeRow(&b, sep)
		for _, r := range c.Rows {
			cells := []string{r.Metric}
			for _, t := range c.Tools {
				cell := ""
				for _, v := range r.Values {
					if v.Tool == t {
						cell = formatValue(v)
					}
				}
				cells = append(cells, cell)
			}
			var ratios, targets, met []string
			for _, ch := range r.Checks {
				ratios = append(ratios, ch.ratioText())
				targets = append(targets, ch.targetText())
				met = append(met, ch.metText())
			}
			cells = append(cells, joinCells(ratios), joinCells(targets), joinCells(met))
			writeRow(&b, cells)
		}
		if c.Chart != "" {
			fmt.Fprintf(&b, "\n![%s: ratios](%s%s)\n", c.Name, imgPrefix, c.Chart)
		}
	}
	for _, s := range rep.Series {
		fmt.Fprintf(&b, "\n%s Throughput over time: %s\n\n", h, s.Name)
		fmt.Fprintf(&b, "![%s: throughput over time](%s%s)\n\n", s.Name, imgPrefix, s.Chart)
		writeRow(&b, []string{"scenario", "mean", "seconds", "samples"})
		writeRow(&b, []string{"---", "---", "---", "---"})
		for _, sc := range s.Scenarios {
			writeRow(&b, []string{sc.Name, formatNumber(sc.Mean*8/1e6) + " Mbit/s", formatNumber(sc.Seconds), fmt.Sprint(len(sc.Points))})
		}
		fmt.Fprintf(&b, "\nData: [%s](%s%s).\n", s.CSV, imgPrefix, s.CSV)
	}
	return b.String()
}

// joinCells keeps a cell empty when no check says anything, and otherwise
// one line per check (a row may compare several tools).
func joinCells(xs []string) string {
	some := false
	for _, x := range xs {
		if x != "" {
			some = true
		}
	}
	if !some {
		return ""
	}
	for i, x := range xs {
		if x == "" {
			xs[i] = "–"
		}
	}
	return strings.Join(xs, "<br>")
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
	}
	b.WriteString("\n")
}

// ReplaceRegion puts body between the begin and end markers of doc (the
// README's Performance section), keeping the markers.
func ReplaceRegion(doc, begin, end, body string) (string, error) {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < 0 || j < i {
		return "", fmt.Errorf("no %q ... %q region", begin, end)
	}
	return doc[:i+len(begin)] + "\n" + body + doc[j:], nil
}
