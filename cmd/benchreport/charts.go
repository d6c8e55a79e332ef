package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one time-series CSV of a case (scenario,t_seconds,bytes_per_second):
// one line per scenario on one chart.
type Series struct {
	Name      string     `json:"name"`
	CSV       string     `json:"csv"`
	Chart     string     `json:"chart"`
	Scenarios []Scenario `json:"scenarios"`
}

// Scenario is one line of a series chart.
type Scenario struct {
	Name    string       `json:"scenario"`
	Mean    float64      `json:"mean_bytes_per_second"`
	Seconds float64      `json:"seconds"`
	Points  [][2]float64 `json:"points"`
}

// SeriesHeader is the header every series CSV starts with.
const SeriesHeader = "scenario,t_seconds,bytes_per_second"

// ReadSeries parses one series CSV; scenarios keep the order they first
// appear in, points are sorted by time.
func ReadSeries(name string, r io.Reader) (Series, error) {
	s := Series{Name: name}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	head, err := cr.Read()
	if err != nil {
		return s, fmt.Errorf("%s: header: %w", name, err)
	}
	if strings.Join(head, ",") != SeriesHeader {
		return s, fmt.Errorf("%s: header is %q, want %q", name, strings.Join(head, ","), SeriesHeader)
	}
	idx := map[string]int{}
	for line := 2; ; line++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		t, err1 := strconv.ParseFloat(row[1], 64)
		v, err2 := strconv.ParseFloat(row[2], 64)
		if err := errors.Join(err1, err2); err != nil || row[0] == "" {
			return s, fmt.Errorf("%s line %d: want scenario,seconds,bytes a second: %v", name, line, err)
		}
		i, ok := idx[row[0]]
		if !ok {
			i = len(s.Scenarios)
			idx[row[0]] = i
			s.Scenarios = append(s.Scenarios, Scenario{Name: row[0]})
		}
		s.Scenarios[i].Points = append(s.Scenarios[i].Points, [2]float64{t, v})
	}
	if len(s.Scenarios) == 0 {
		return s, fmt.Errorf("%s: no samples", name)
	}
	for i := range s.Scenarios {
		sc := &s.Scenarios[i]
		sort.Slice(sc.Points, func(a, b int) bool { return sc.Points[a][0] < sc.Points[b][0] })
		sum := 0.0
		for _, p := range sc.Points {
			sum += p[1]
		}
		sc.Mean = sum / float64(len(sc.Points))
		sc.Seconds = sc.Points[len(sc.Points)-1][0] - sc.Points[0][0]
	}
	return s, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// fileName makes a case's name safe as a file name.
func fileName(s string) string {
	s = strings.Trim(unsafeName.ReplaceAllString(s, "-"), "-.")
	if s == "" {
		return "case"
	}
	return s
}

var (
	colorMet    = color.RGBA{R: 0x2e, G: 0x8b, B: 0x57, A: 0xff}
	colorNotMet = color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff}
	colorNone   = color.RGBA{R: 0x5b, G: 0x7d, B: 0xb1, A: 0xff}
)

const (
	chartWidth  = 16 * vg.Centimeter
	chartHeight = 9 * vg.Centimeter
)

// RatioChart draws a case's ratios as bars (green: target met, red: not
// met, blue: no target), each target as a dashed mark over its bar, and
// parity (1×) as a grey line. It returns nil when the case has no ratio.
func RatioChart(c Case) ([]byte, error) {
	type bar struct {
		label  string
		ratio  float64
		target *Target
		met    *bool
	}
	var bars []bar
	for _, r := range c.Rows {
		for _, ch := range r.Checks {
			if ch.Ratio == nil {
				continue
			}
			who := displayTool(ch.Tool)
			if ch.Vs != "" {
				who += " / " + displayTool(ch.Vs)
			}
			b := bar{label: wrap(r.Metric, 22) + "\n" + wrap(who, 22), ratio: *ch.Ratio}
			// The colour says whether the bar meets its target: a target
			// on the value is not this bar's.
			if t, err := ParseTarget(ch.Target); err == nil && t.OnRatio {
				b.target, b.met = &t, ch.Met
			}
			bars = append(bars, b)
		}
	}
	if len(bars) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Y.Label.Text = "ratio"
	p.Y.Min = 0
	// Labels of many bars need room: about 0.2 cm a character.
	longest := 0
	for _, b := range bars {
		for _, l := range strings.Split(b.label, "\n") {
			longest = max(longest, len([]rune(l)))
		}
	}
	w := chartWidth
	if n := vg.Length(len(bars)) * vg.Length(max(longest, 12)) * 0.2 * vg.Centimeter; n > w {
		w = n
	}
	width := w * 0.8 / vg.Length(len(bars)) * 0.6
	if width > 2*vg.Centimeter {
		width = 2 * vg.Centimeter
	}
	kinds := map[string]bool{}
	labels := make([]string, len(bars))
	var texts plotter.XYLabels
	top := 1.0
	for i, b := range bars {
		labels[i] = b.label
		bc, err := plotter.NewBarChart(plotter.Values{b.ratio}, width)
		if err != nil {
			return nil, fmt.Errorf("bar %q: %w", b.label, err)
		}
		bc.XMin = float64(i)
		bc.LineStyle.Width = 0
		switch {
		case b.met == nil:
			bc.Color = colorNone
			kinds["none"] = true
		case *b.met:
			bc.Color = colorMet
			kinds["met"] = true
		default:
			bc.Color = colorNotMet
			kinds["not"] = true
		}
		p.Add(bc)
		texts.XYs = append(texts.XYs, plotter.XY{X: float64(i), Y: b.ratio})
		texts.Labels = append(texts.Labels, formatRatio(b.ratio))
		top = math.Max(top, b.ratio)
		if b.target != nil {
			l, err := plotter.NewLine(plotter.XYs{{X: float64(i) - 0.4, Y: b.target.Bound}, {X: float64(i) + 0.4, Y: b.target.Bound}})
			if err != nil {
				return nil, err
			}
			l.Width = vg.Points(2)
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			l.Color = color.Black
			p.Add(l)
			top = math.Max(top, b.target.Bound)
		}
	}
	parity := plotter.NewFunction(func(float64) float64 { return 1 })
	parity.Color = color.Gray{Y: 0x80}
	parity.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
	p.Add(parity)
	lab, err := plotter.NewLabels(texts)
	if err != nil {
		return nil, err
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].XAlign = draw.XCenter
	}
	lab.Offset = vg.Point{Y: vg.Points(3)}
	p.Add(lab)
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.6, float64(len(bars))-0.4
	p.Title.Text = c.Name + ": ratios (dotted: 1×)"
	if kinds["met"] || kinds["not"] {
		p.Title.Text = c.Name + ": ratios (dashed: the target; dotted: 1×)"
	}
	// Headroom for the legend, which is drawn over the plot's top.
	p.Y.Max = top * 1.45
	p.Legend.Top = true
	for _, k := range []struct {
		kind, text string
		c          color.Color
	}{{"met", "target met", colorMet}, {"not", "target not met", colorNotMet}, {"none", "no target on the ratio", colorNone}} {
		if kinds[k.kind] {
			p.Legend.Add(k.text, legendBox{k.c})
		}
	}
	return render(p, w)
}

// wrap breaks s into lines of at most n characters at spaces (a word
// longer than n keeps its line).
func wrap(s string, n int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

// legendBox is a legend entry's colour swatch.
type legendBox struct{ c color.Color }

func (c legendBox) Thumbnail(cv *draw.Canvas) {
	cv.FillPolygon(c.c, []vg.Point{
		{X: cv.Min.X, Y: cv.Min.Y}, {X: cv.Max.X, Y: cv.Min.Y},
		{X: cv.Max.X, Y: cv.Max.Y}, {X: cv.Min.X, Y: cv.Max.Y},
	})
}

// SeriesChart draws throughput over time, one line per scenario, in Mbit/s
// (links are shaped in bits).
func SeriesChart(s Series) ([]byte, error) {
	p := plot.New()
	p.Title.Text = s.Name + ": throughput over time"
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "throughput (Mbit/s)"
	p.Y.Min = 0
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	top := 0.0
	for i, sc := range s.Scenarios {
		xys := make(plotter.XYs, len(sc.Points))
		for j, pt := range sc.Points {
			xys[j] = plotter.XY{X: pt[0], Y: pt[1] * 8 / 1e6}
			top = math.Max(top, xys[j].Y)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("scenario %q: %w", sc.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		l.Dashes = plotutil.Dashes(i)
		p.Add(l)
		p.Legend.Add(sc.Name, l)
	}
	// Headroom for the legend, one line a scenario.
	p.Y.Max = top * (1.1 + 0.1*float64(len(s.Scenarios)))
	return render(p, chartWidth)
}

func render(p *plot.Plot, width vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(width, chartHeight, "png")
	if err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	return buf.Bytes(), nil
}

// writeFile replaces path in one step: a reader sees the old file or the
// new one, never half of each.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
