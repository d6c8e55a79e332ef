package engine

import (
	"net/url"

	"ferry/backend/bits"
	"ferry/backend/transfer"
)

// transferOptions are a job's per-request settings for the drivers (caller
// holds mu). idx >= 0 lets the ALLOW_REPORT/DISALLOW redirect policies
// rewrite that file's remote name.
func (m *Manager) transferOptions(e *entry, w *worker, idx int) transfer.Options {
	j := e.job
	o := transfer.Options{Proxy: j.Proxy, CustomHeaders: j.CustomHeaders, Dynamic: j.Dynamic,
		Credentials: append([]bits.Credential(nil), j.Credentials...), Method: j.HTTPMethod, SecurityFlags: j.SecurityFlags}
	if j.ClientCert != nil {
		c := *j.ClientCert
		o.ClientCert = &c
	}
	// Downloads yield; uploads send, and rLEDBAT is a receiver's lever (an
	// upload-reply job's reply fetch yields too: reply.go).
	if w != nil && j.Type == bits.TypeDownload {
		o.Yield = w.yield
	}
	if idx >= 0 {
		o.OnRedirect = func(final string) { m.redirected(e, w, idx, final) }
	}
	return o
}

// redirected records the final URL of a redirected download (BITS'
// ALLOW_REPORT, and DISALLOW's refused target) as the file's remote name.
// The driver calls it from the transfer, with no lock held.
func (m *Manager) redirected(e *entry, w *worker, idx int, final string) {
	if len(final) > bits.MaxRemoteURL {
		return
	}
	err := m.commit(e, func(c *change) error {
		if !c.e.current(w) || idx >= len(c.job.Files) || c.job.Files[idx].RemoteName == final {
			return errStale
		}
		c.job.Files[idx].RemoteName = final
		c.touch()
		c.event(EventModified, -1)
		return nil
	})
	if err != nil {
		m.log.Warn("could not record the redirected remote name", "job", e.id, "err", err)
		return
	}
	m.log.Info("remote name rewritten by the redirect policy", "job", e.id, "file", idx, "url", redactURL(final))
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}
