package ops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"ferry/backend/bits"
	"ferry/backend/browser/manifests"
	"ferry/backend/engine"
)

type textFunc = func(w io.Writer, raw json.RawMessage, r Request) error

func decode(raw json.RawMessage, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("decode the engine's answer: %w", err)
	}
	return nil
}

// textScalar prints a single value bare, as bitsadmin's /rawreturn does, so
// that scripts can capture it; null prints as "none".
func textScalar(w io.Writer, raw json.RawMessage, _ Request) error {
	var v any
	if err := decode(raw, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		_, err := fmt.Fprintln(w, "none")
		return err
	case string:
		_, err := fmt.Fprintln(w, Esc(x))
		return err
	case json.Number, bool:
		_, err := fmt.Fprintln(w, x)
		return err
	}
	_, err := fmt.Fprintln(w, Esc(strings.TrimSpace(string(raw))))
	return err
}

func textLines(w io.Writer, raw json.RawMessage, _ Request) error {
	var s string
	if err := decode(raw, &s); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if line != "" {
			fmt.Fprintln(w, Esc(line))
		}
	}
	return nil
}

func textCreated(w io.Writer, raw json.RawMessage, _ Request) error {
	var in bits.JobInfo
	if err := decode(raw, &in); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, Esc(in.ID))
	return err
}

// Size prints a byte count for people ("unknown" for -1).
func Size(n int64) string {
	if n < 0 {
		return "unknown"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ProgressText is "512.0 KiB of 1.0 MiB (50%), 1 of 2 files".
func ProgressText(p bits.JobProgress) string {
	s := Size(p.BytesTransferred)
	if p.BytesTotal >= 0 {
		s += " of " + Size(p.BytesTotal)
		if p.BytesTotal > 0 {
			s += fmt.Sprintf(" (%d%%)", p.BytesTransferred*100/p.BytesTotal)
		}
	} else {
		s += " of unknown size"
	}
	return s + fmt.Sprintf(", %d of %d files", p.FilesTransferred, p.FilesTotal)
}

func textProgress(w io.Writer, raw json.RawMessage, _ Request) error {
	var p bits.JobProgress
	if err := decode(raw, &p); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d / %d bytes, %d / %d files\n", p.BytesTransferred, p.BytesTotal, p.FilesTransferred, p.FilesTotal)
	return err
}

// ErrorText is one line for a job error: "BG_E_HTTP_ERROR_404 (0x80190194): …".
func ErrorText(e *bits.ErrorInfo) string {
	s := fmt.Sprintf("%s (%s): %s", e.Name, e.Code.Hex(), Esc(e.Description))
	if e.File != nil {
		s += " [" + Esc(e.File.RemoteName) + "]"
	}
	return s
}

func textError(w io.Writer, raw json.RawMessage, _ Request) error {
	var e bits.ErrorInfo
	if err := decode(raw, &e); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Error:\t%s (%s)\n", e.Name, e.Code.Hex())
	fmt.Fprintf(tw, "Context:\t%s\n", e.Context)
	fmt.Fprintf(tw, "Description:\t%s\n", Esc(e.Description))
	if e.Protocol != nil {
		fmt.Fprintf(tw, "Protocol:\t%s\n", Esc(*e.Protocol))
	}
	if e.File != nil {
		fmt.Fprintf(tw, "File:\t%s -> %s\n", Esc(e.File.RemoteName), Esc(e.File.LocalName))
	}
	return tw.Flush()
}

func textNotifyCmdLine(w io.Writer, raw json.RawMessage, _ Request) error {
	var n *bits.NotifyCmdLine
	if err := decode(raw, &n); err != nil {
		return err
	}
	var err error
	switch {
	case n == nil:
		_, err = fmt.Fprintln(w, "NULL")
	case n.Parameters == "":
		_, err = fmt.Fprintln(w, Esc(n.Program))
	default:
		_, err = fmt.Fprintf(w, "%s %s\n", Esc(n.Program), Esc(n.Parameters))
	}
	return err
}

func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func notifyFlagsText(f bits.NotifyFlags) string {
	var names []string
	for _, b := range []struct {
		bit  bits.NotifyFlags
		name string
	}{{bits.NotifyJobTransferred, "transferred"}, {bits.NotifyJobError, "error"}, {bits.NotifyDisable, "disable"},
		{bits.NotifyJobModification, "modification"}, {bits.NotifyFileTransferred, "file transferred"},
		{bits.NotifyFileRangesTransferred, "file ranges transferred"}} {
		if f&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("%d (none)", f)
	}
	return fmt.Sprintf("%d (%s)", f, strings.Join(names, ", "))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func textInfo(w io.Writer, raw json.RawMessage, r Request) error {
	var in bits.JobInfo
	if err := decode(raw, &in); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// Every value is escaped: names, paths and URLs come from users and servers.
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, Esc(v)) }
	row("ID", in.ID)
	row("Display name", in.DisplayName)
	row("Description", orDash(in.Description))
	row("Type", in.Type.String())
	row("State", in.State.String())
	row("Priority", in.Priority.String())
	row("Owner", in.Owner)
	row("Progress", ProgressText(in.Progress))
	row("Created", timeText(in.Times.CreationTime))
	row("Modified", timeText(in.Times.ModificationTime))
	row("Transferred", timeText(in.Times.TransferCompletionTime))
	row("Error count", fmt.Sprint(in.ErrorCount))
	if in.Error != nil {
		row("Error", ErrorText(in.Error))
		row("Error context", in.Error.Context.String())
	} else {
		row("Error", "-")
	}
	row("Min retry delay", fmt.Sprintf("%d s", in.MinRetryDelay))
	row("No-progress timeout", fmt.Sprintf("%d s", in.NoProgressTimeout))
	row("Max download time", fmt.Sprintf("%d s", in.MaxDownloadTime))
	row("Notify flags", notifyFlagsText(in.NotifyFlags))
	row("Connections", fmt.Sprintf("%d per file, %d in use", in.Connections, in.ConnectionsInUse))
	if in.NotifyCmdLine != nil {
		row("Notify command line", strings.TrimSpace(in.NotifyCmdLine.Program+" "+in.NotifyCmdLine.Parameters))
	} else {
		row("Notify command line", "-")
	}
	proxy := in.Proxy.Usage.String()
	if in.Proxy.List != "" {
		proxy += " " + in.Proxy.List
	}
	if in.Proxy.Bypass != "" {
		proxy += " (bypass " + in.Proxy.Bypass + ")"
	}
	row("Proxy", proxy)
	row("Dynamic", fmt.Sprint(in.Dynamic))
	row("Files", fmt.Sprint(len(in.Files)))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(in.Files) > 0 && r.Has("verbose") {
		return writeFiles(w, in.Files, "  ")
	}
	return nil
}

func fileState(f bits.FileInfo) string {
	switch {
	case f.Completed:
		return "done"
	case f.BytesTransferred > 0:
		return "partial"
	}
	return "waiting"
}

func writeFiles(w io.Writer, files []bits.FileInfo, indent string) error {
	var t columns
	t.add(indent+"#", "STATE", "BYTES", "REMOTE -> LOCAL")
	for i, f := range files {
		bytes := fmt.Sprintf("%d/%d", f.BytesTransferred, f.BytesTotal)
		if f.BytesTotal < 0 {
			bytes = fmt.Sprintf("%d/unknown", f.BytesTransferred)
		}
		t.add(fmt.Sprintf("%s%d", indent, i), fileState(f), bytes, Esc(f.RemoteName)+" -> "+Esc(f.LocalName))
	}
	return t.write(w)
}

func textFiles(w io.Writer, raw json.RawMessage, _ Request) error {
	var files []bits.FileInfo
	if err := decode(raw, &files); err != nil {
		return err
	}
	if len(files) == 0 {
		return nil
	}
	return writeFiles(w, files, "")
}

// WriteJobTable prints jobs as an aligned table (the list and monitor view).
func WriteJobTable(w io.Writer, jobs []bits.JobInfo, withFiles bool) error {
	var t columns
	t.add("ID", "NAME", "TYPE", "STATE", "PRIORITY", "BYTES", "FILES")
	for _, j := range jobs {
		bytes := Size(j.Progress.BytesTransferred) + " / " + Size(j.Progress.BytesTotal)
		t.add(Esc(j.ID), fitWidth(Esc(j.DisplayName), nameColumns), j.Type.String(), j.State.String(), j.Priority.String(),
			bytes, fmt.Sprintf("%d/%d", j.Progress.FilesTransferred, j.Progress.FilesTotal))
	}
	if err := t.write(w); err != nil {
		return err
	}
	if withFiles {
		for _, j := range jobs {
			if len(j.Files) == 0 {
				continue
			}
			fmt.Fprintf(w, "\n%s (%s):\n", Esc(j.ID), Esc(j.DisplayName))
			if err := writeFiles(w, j.Files, "  "); err != nil {
				return err
			}
		}
	}
	return nil
}

func textList(w io.Writer, raw json.RawMessage, r Request) error {
	var jobs []bits.JobInfo
	if err := decode(raw, &jobs); err != nil {
		return err
	}
	if len(jobs) == 0 {
		return nil
	}
	return WriteJobTable(w, jobs, r.Has("verbose"))
}

func textReset(w io.Writer, raw json.RawMessage, _ Request) error {
	var res ResetResult
	if err := decode(raw, &res); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d out of %d jobs cancelled.\n", res.Cancelled, res.Total)
	return err
}

func textConfig(w io.Writer, raw json.RawMessage, _ Request) error {
	var vals map[string]json.RawMessage
	if err := decode(raw, &vals); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tDEFAULT\tMEANING")
	for _, d := range engine.SettingDefs {
		shown := engine.FormatDefault(d)
		if d.Unit == engine.UnitPath {
			var t string
			if json.Unmarshal(vals[d.Key], &t) == nil && t != "" {
				shown = t
			}
		} else {
			var v int64
			if json.Unmarshal(vals[d.Key], &v) == nil && vals[d.Key] != nil {
				shown = engine.FormatSetting(d.Key, v)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Key, shown, engine.FormatDefault(d), d.Help)
	}
	return tw.Flush()
}

// textReplyData writes the reply's bytes as they are, as bitsadmin does.
func textReplyData(w io.Writer, raw json.RawMessage, _ Request) error {
	var d ReplyData
	if err := decode(raw, &d); err != nil {
		return err
	}
	_, err := w.Write(d.Data)
	return err
}

func textReplyProgress(w io.Writer, raw json.RawMessage, _ Request) error {
	var p engine.ReplyProgress
	if err := decode(raw, &p); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d / %d bytes\n", p.BytesTransferred, p.BytesTotal)
	return err
}

func textClientCert(w io.Writer, raw json.RawMessage, _ Request) error {
	var c *bits.ClientCert
	if err := decode(raw, &c); err != nil {
		return err
	}
	if c == nil {
		_, err := fmt.Fprintln(w, "none")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Certificate:\t%s\n", Esc(c.CertFile))
	fmt.Fprintf(tw, "Key:\t%s\n", Esc(c.KeyFile))
	return tw.Flush()
}

// TextBrowserStatus prints `browser status` for people (the CLI's local
// command prints the same).
func TextBrowserStatus(w io.Writer, raw json.RawMessage, _ Request) error {
	var sts []manifests.Status
	if err := decode(raw, &sts); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BROWSER\tINSTALLED\tCONNECTED\tMANIFEST")
	for _, st := range sts {
		installed, contact := "no", "never"
		if st.Installed {
			installed = "yes"
		}
		if st.LastContact != nil {
			contact = "last " + st.LastContact.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Browser, installed, contact, st.Manifest)
	}
	return tw.Flush()
}
