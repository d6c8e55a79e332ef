package engine

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"time"

	"ferry/backend/bits"
	"ferry/backend/store"
)

// KindCredentials is the Unreadable record of a job whose sealed
// credentials (or sealed custom headers) no key here can open.
const KindCredentials = "credentials"

// keyState is what the engine knows of its secret key: the box that seals
// and opens (nil while there is none), and the sealed secrets it could not
// open when it started. Those are kept as they are, never dropped or
// resealed, until the key is back (a restart opens them) or ResetSecrets.
type keyState struct {
	mu     sync.Mutex
	box    SecretBox
	locked map[string]map[string][]byte // job id -> secret name -> the sealed bytes that did not open
	since  time.Time
}

// secretBox is the box in use; nil when the engine has no key.
func (m *Manager) secretBox() SecretBox {
	m.keys.mu.Lock()
	defer m.keys.mu.Unlock()
	return m.keys.box
}

// noKeyError refuses to seal a new secret without a key. With the key file
// missing while sealed secrets exist, a new key may not be made (it would
// orphan them), so the user is told how to get out of it.
func (m *Manager) noKeyError(what string) error {
	if m.cfg.KeyMissing {
		return bits.Errorf(bits.NTE_BAD_KEYSET, "cannot keep %s: the secret key %s is missing while jobs hold credentials sealed with it; restore the file and restart the engine, or run `ferry secrets reset` to drop those credentials", what, m.keyFile())
	}
	return bits.Errorf(bits.E_NOTIMPL, "this engine has no secret key, so it cannot keep %s", what)
}

func (m *Manager) keyFile() string {
	if m.cfg.KeyFile == "" {
		return "secret.key"
	}
	return m.cfg.KeyFile
}

// lockSecret records a sealed secret of job id that could not be opened.
func (m *Manager) lockSecret(id, name string, sealed []byte) {
	m.keys.mu.Lock()
	defer m.keys.mu.Unlock()
	if m.keys.locked == nil {
		m.keys.locked = map[string]map[string][]byte{}
	}
	if m.keys.locked[id] == nil {
		m.keys.locked[id] = map[string][]byte{}
	}
	m.keys.locked[id][name] = sealed
}

// lockedSecrets returns the names of job id's secrets that could not be
// opened and are still stored as they were: once the user removed or
// replaced one (removecredentials, setcustomheaders, takeownership, a reset)
// it no longer counts.
func (m *Manager) lockedSecrets(id string) ([]string, error) {
	m.keys.mu.Lock()
	want := m.keys.locked[id]
	m.keys.mu.Unlock()
	if len(want) == 0 {
		return nil, nil
	}
	stored, err := m.st.Secrets(id)
	if err != nil {
		return nil, err
	}
	var names []string
	for name, sealed := range want {
		if bytes.Equal(stored[name], sealed) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		m.keys.mu.Lock()
		delete(m.keys.locked, id)
		m.keys.mu.Unlock()
	}
	return names, nil
}

// lockedReason says why a job's sealed secrets do not open, and what to do.
func (m *Manager) lockedReason() (bits.HRESULT, string) {
	if m.secretBox() == nil {
		return bits.NTE_BAD_KEYSET, fmt.Sprintf("the secret key %s is missing; restore the file and restart the engine, or run `ferry secrets reset` and set them again", m.keyFile())
	}
	return bits.NTE_BAD_KEY, fmt.Sprintf("the secret key %s is not the key that sealed them; put the original file back and restart the engine, or run `ferry secrets reset` and set them again", m.keyFile())
}

// lockedFailure is the error of a job that must not transfer: its requests
// would go out without the credentials or headers it was given, and fail
// later with a 401 that hides the cause. BITS users expect a job that
// cannot run to stop in ERROR with the reason; `resume` tries again.
func (m *Manager) lockedFailure(id string) *failure {
	names, err := m.lockedSecrets(id)
	if err != nil {
		m.log.Error("could not check the job's sealed secrets", "job", id, "err", err)
		return nil
	}
	if len(names) == 0 {
		return nil
	}
	code, why := m.lockedReason()
	return &failure{err: &bits.JobError{Context: bits.ContextGeneralQueueManager, Code: code,
		Description: "The job's credentials cannot be opened, so it does not send requests without them: " + why}}
}

// lockedRecords are the Unreadable records of the jobs with sealed secrets
// that could not be opened.
func (m *Manager) lockedRecords() []store.SetAside {
	m.keys.mu.Lock()
	ids := make([]string, 0, len(m.keys.locked))
	for id := range m.keys.locked {
		ids = append(ids, id)
	}
	since := m.keys.since
	m.keys.mu.Unlock()
	sort.Strings(ids)
	var out []store.SetAside
	for _, id := range ids {
		m.mu.Lock()
		_, live := m.jobs[id]
		m.mu.Unlock()
		if !live {
			continue
		}
		names, err := m.lockedSecrets(id)
		if err != nil {
			m.log.Error("could not check the job's sealed secrets", "job", id, "err", err)
			continue
		}
		if len(names) == 0 {
			continue
		}
		_, why := m.lockedReason()
		out = append(out, store.SetAside{Kind: KindCredentials, Key: id, Reason: why, Time: since})
	}
	return out
}

// SecretsReset is what ResetSecrets did.
type SecretsReset struct {
	Jobs    int  `json:"jobs"`    // jobs whose sealed secrets were dropped
	Secrets int  `json:"secrets"` // sealed secrets dropped
	NewKey  bool `json:"newKey"`  // a new key was made (the old one was missing)
	// Remaining, with the key missing, counts the sealed secrets still held
	// (records set aside keep theirs): while any remains, no new key is made.
	Remaining int `json:"remaining"`
}

// ResetSecrets drops the sealed credentials and headers that no key here
// can open, so that their jobs can be given new ones (setcredentials,
// setcustomheaders); the jobs themselves are kept. When the key file is
// missing and no sealed secret remains, it makes a new key.
func (m *Manager) ResetSecrets() (SecretsReset, error) {
	var res SecretsReset
	m.keys.mu.Lock()
	ids := make([]string, 0, len(m.keys.locked))
	for id := range m.keys.locked {
		ids = append(ids, id)
	}
	m.keys.mu.Unlock()
	sort.Strings(ids)
	for _, id := range ids {
		names, err := m.lockedSecrets(id)
		if err != nil {
			return res, bits.Errorf(bits.E_FAIL, "could not read the sealed secrets of job %s: %v", id, err)
		}
		e, err := m.find(id)
		if err != nil || len(names) == 0 {
			continue
		}
		err = m.commit(e, func(c *change) error {
			c.dropSecrets = append(c.dropSecrets, names...)
			c.touch()
			c.event(EventModified, -1)
			return nil
		})
		if err != nil {
			return res, err
		}
		m.keys.mu.Lock()
		delete(m.keys.locked, id)
		m.keys.mu.Unlock()
		res.Jobs++
		res.Secrets += len(names)
		m.log.Info("sealed secrets that could not be opened were dropped", "job", id, "count", len(names))
	}
	if m.secretBox() != nil {
		return res, nil
	}
	n, err := m.st.SealedSecrets()
	if err != nil {
		return res, bits.Errorf(bits.E_FAIL, "could not count the sealed secrets: %v", err)
	}
	res.Remaining = n
	if n == 0 && m.cfg.NewKey != nil {
		box, err := m.cfg.NewKey()
		if err != nil {
			return res, bits.Errorf(bits.E_FAIL, "could not make a new secret key: %v", err)
		}
		m.keys.mu.Lock()
		m.keys.box = box
		m.keys.mu.Unlock()
		res.NewKey = true
		m.log.Info("a new secret key was made after the sealed secrets were reset", "file", m.keyFile())
	}
	return res, nil
}

// SecretsStatus is `ferry secrets`: the key, and the jobs whose sealed
// secrets it cannot open.
type SecretsStatus struct {
	KeyFile string   `json:"keyFile"`
	Key     string   `json:"key"`  // "present" or "missing"
	Jobs    []string `json:"jobs"` // ids of jobs with sealed secrets that cannot be opened
}

// Secrets reports the secret key and the jobs it leaves without credentials.
func (m *Manager) Secrets() SecretsStatus {
	s := SecretsStatus{KeyFile: m.keyFile(), Key: "present", Jobs: []string{}}
	if m.secretBox() == nil {
		s.Key = "missing"
	}
	for _, r := range m.lockedRecords() {
		s.Jobs = append(s.Jobs, r.Key)
	}
	return s
}
