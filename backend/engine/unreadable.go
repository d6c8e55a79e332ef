package engine

import (
	"ferry/backend/store"
)

// Unreadable lists the records the store could not read when the engine
// started: set aside (out of the live tables, a copy in
// FERRY_HOME/quarantine) so that the engine starts and serves every other
// job. It also lists, as KindCredentials, the jobs whose sealed credentials
// no key here can open (secretkey.go): those stay in place. `ferry list`,
// `ferry info` and the window report them.
func (m *Manager) Unreadable() []store.SetAside {
	out := append(m.st.SetAside(), m.lockedRecords()...)
	if out == nil {
		out = []store.SetAside{}
	}
	return out
}

// setAsideSetting moves a stored setting that does not parse out of the way,
// so that the default applies and the bad value is kept, not lost.
func (m *Manager) setAsideSetting(key, value string, why error) {
	if err := m.st.SetAsideSetting(key, value, why.Error()); err != nil {
		m.log.Error("could not set an unreadable setting aside", "key", key, "err", err)
	}
}

// logUnreadable logs each record set aside.
func (m *Manager) logUnreadable() {
	for _, a := range m.st.SetAside() {
		m.log.Error("a record could not be read and was set aside", "kind", a.Kind, "key", a.Key, "reason", a.Reason, "copy", a.Copy)
	}
}
