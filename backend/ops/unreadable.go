package ops

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"ferry/backend/store"
)

func textUnreadable(w io.Writer, raw json.RawMessage, _ Request) error {
	var recs []store.SetAside
	if err := decode(raw, &recs); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tKEY\tSET ASIDE\tREASON\tCOPY")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", Esc(r.Kind), Esc(r.Key), r.Time.UTC().Format(time.RFC3339),
			Esc(r.Reason), Esc(orDash(r.Copy)))
	}
	return tw.Flush()
}

// UnreadableSummary is one line for people about the records set aside:
// "1 job could not be read; set aside in /home/alice/.config/ferry/quarantine".
// It is "" when there are none.
func UnreadableSummary(recs []store.SetAside) string {
	if len(recs) == 0 {
		return ""
	}
	count := map[string]int{}
	var order []string
	dir := ""
	for _, r := range recs {
		if count[r.Kind] == 0 {
			order = append(order, r.Kind)
		}
		count[r.Kind]++
		if r.Copy != "" {
			dir = filepath.Dir(r.Copy)
		}
	}
	s := ""
	for i, k := range order {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", count[k], k)
		if count[k] != 1 {
			s += "s"
		}
	}
	s += " could not be read"
	if dir != "" {
		s += "; set aside in " + Esc(dir)
	} else {
		s += "; set aside in the database's quarantine table"
	}
	return s + " (ferry unreadable lists them)"
}
