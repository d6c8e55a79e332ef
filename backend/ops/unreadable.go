package ops

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"ferry/backend/engine"
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

// UnreadableSummary is for people, about the records set aside ("1 job could
// not be read; set aside in /home/alice/.config/ferry/quarantine") and, on a
// line of its own, the jobs whose credentials cannot be opened. It is ""
// when there are none.
func UnreadableSummary(recs []store.SetAside) string {
	var aside, locked []store.SetAside
	for _, r := range recs {
		if r.Kind == engine.KindCredentials {
			locked = append(locked, r)
		} else {
			aside = append(aside, r)
		}
	}
	var lines []string
	if s := setAsideSummary(aside); s != "" {
		lines = append(lines, s)
	}
	if s := CredentialsSummary(locked); s != "" {
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

// CredentialsSummary is one line about jobs whose sealed credentials cannot
// be opened: "2 jobs hold credentials that cannot be opened: the secret key
// … is missing; …". It is "" when there are none.
func CredentialsSummary(recs []store.SetAside) string {
	if len(recs) == 0 {
		return ""
	}
	jobs := "1 job holds"
	if len(recs) > 1 {
		jobs = fmt.Sprintf("%d jobs hold", len(recs))
	}
	// One key, one reason: the first says it for all.
	return fmt.Sprintf("%s credentials that cannot be opened (ferry secrets lists them): %s", jobs, Esc(recs[0].Reason))
}

func setAsideSummary(recs []store.SetAside) string {
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

func textSecrets(w io.Writer, raw json.RawMessage, _ Request) error {
	var s engine.SecretsStatus
	if err := decode(raw, &s); err != nil {
		return err
	}
	fmt.Fprintf(w, "Secret key: %s (%s)\n", Esc(s.KeyFile), s.Key)
	if len(s.Jobs) == 0 {
		_, err := fmt.Fprintln(w, "Every sealed credential opens.")
		return err
	}
	fmt.Fprintf(w, "Credentials that cannot be opened (ferry secrets reset drops them):\n")
	for _, id := range s.Jobs {
		fmt.Fprintf(w, "  %s\n", Esc(id))
	}
	return nil
}

func textSecretsReset(w io.Writer, raw json.RawMessage, _ Request) error {
	var r engine.SecretsReset
	if err := decode(raw, &r); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d sealed secrets of %d jobs dropped.\n", r.Secrets, r.Jobs)
	if r.NewKey {
		fmt.Fprintln(w, "A new secret key was made.")
	} else if r.Remaining > 0 {
		fmt.Fprintf(w, "%d sealed secrets remain (in records set aside: ferry unreadable), so a missing key is not made anew.\n", r.Remaining)
	}
	return nil
}
