package desktop

import (
	"fmt"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/engine"
)

// notification is one desktop notification, before any platform encoding.
type notification struct {
	jobID    string
	summary  string
	body     string
	category string // freedesktop's standard categories: transfer.complete, transfer.error
	icon     Icon
}

// notificationFor decides whether an event becomes a notification and what
// it says. Only a job's end of transfer and its failure are worth
// interrupting someone for, and only when the job's notify flags allow it
// (engine.Event.Notify already folds in BG_NOTIFY_DISABLE and the bits).
func notificationFor(ev engine.Event) (notification, bool) {
	if !ev.Notify {
		return notification{}, false
	}
	j := ev.Job
	name := JobName(j)
	switch ev.Kind {
	case engine.EventTransferred:
		return notification{
			jobID:    j.ID,
			summary:  fmt.Sprintf("“%s” transferred", name),
			body:     transferredSentence(j),
			category: "transfer.complete",
			icon:     IconTransferring,
		}, true
	case engine.EventError:
		return notification{
			jobID:    j.ID,
			summary:  fmt.Sprintf("“%s” failed", name),
			body:     errorSentence(j),
			category: "transfer.error",
			icon:     IconError,
		}, true
	}
	return notification{}, false
}

func transferredSentence(j bits.JobInfo) string {
	p := j.Progress
	files := "1 file"
	if p.FilesTotal != 1 {
		files = fmt.Sprintf("%d files", p.FilesTotal)
	}
	if p.BytesTotal >= 0 {
		files += fmt.Sprintf(" (%s)", FormatSize(float64(p.BytesTotal)))
	}
	// A BITS job keeps its files under temporary names until it is
	// completed: say so, or people look for files that are not there yet.
	return fmt.Sprintf("All %s transferred. Complete the job to use them.", files)
}

func errorSentence(j bits.JobInfo) string {
	e := j.Error
	if e == nil {
		return "The transfer failed."
	}
	desc := strings.TrimSpace(e.Description)
	if desc == "" {
		desc = e.Code.Description()
	}
	if desc != "" && !strings.HasSuffix(desc, ".") {
		desc += "."
	}
	s := fmt.Sprintf("%s: %s", e.Name, desc)
	if e.File != nil && e.File.RemoteName != "" {
		s += " (" + e.File.RemoteName + ")"
	}
	return strings.TrimSpace(s)
}

// escapeMarkup makes text safe for servers that read the body as their
// small HTML-like markup (capability "body-markup"): a URL's "&" or a "<"
// in a message would otherwise be eaten or break the whole body.
func escapeMarkup(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// deliver hands the notification of each event to send until events is
// closed or done is: the Run loop of every platform's Notifier.
func deliver(done <-chan struct{}, events <-chan engine.Event, send func(notification)) {
	for {
		select {
		case <-done:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if msg, ok := notificationFor(ev); ok {
				send(msg)
			}
		}
	}
}
