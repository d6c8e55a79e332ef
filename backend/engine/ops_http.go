package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"ferry/backend/bits"
)

// SecretBox seals secrets at rest. The service gives the engine one keyed
// from FERRY_HOME/secret.key, so a copied database alone reveals no password.
type SecretBox interface {
	Seal(plaintext, additional []byte) ([]byte, error)
	Open(sealed, additional []byte) ([]byte, error)
}

// credPrefix names a job's credential secrets: "cred:TARGET:SCHEME".
const credPrefix = "cred:"

func credName(t bits.AuthTarget, s bits.AuthScheme) string {
	return fmt.Sprintf("%s%d:%d", credPrefix, t, s)
}

// sealedCred is what a credential secret holds once opened.
type sealedCred struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// secretAAD binds a sealed secret to its job and name, so that a sealed
// blob moved to another row does not open.
func secretAAD(jobID, name string) []byte { return []byte(jobID + "/" + name) }

// loadCredentials opens the sealed credentials of every loaded job, so that
// the drivers get them again after a restart.
func (m *Manager) loadCredentials() error {
	box := m.secretBox()
	all, err := m.st.AllSecrets()
	if err != nil {
		return err
	}
	for id, secrets := range all {
		e := m.jobs[id]
		if e == nil {
			continue
		}
		// The opened secrets go into a copy that then replaces the record:
		// a committed record is never edited in place.
		j := e.job.Clone()
		for name, sealed := range secrets {
			if name == headersSecret {
				if box == nil {
					m.lockSecret(id, name, sealed) // secretkey.go: kept, reported, and the job does not transfer
					m.log.Warn("the job's sealed headers cannot be opened: the engine has no secret key", "job", id, "key", m.keyFile())
				} else if plain, err := box.Open(sealed, secretAAD(id, name)); err == nil {
					j.CustomHeaders = string(plain)
				} else {
					m.lockSecret(id, name, sealed)
					m.log.Warn("the job's sealed headers could not be opened (secret key changed?)", "job", id, "key", m.keyFile())
				}
				continue
			}
			if !strings.HasPrefix(name, credPrefix) {
				continue
			}
			var t, s int
			if _, err := fmt.Sscanf(name, credPrefix+"%d:%d", &t, &s); err != nil {
				m.log.Warn("ignoring a malformed credential record", "job", id)
				continue
			}
			if box == nil {
				m.lockSecret(id, name, sealed)
				m.log.Warn("job has credentials but the engine has no secret key", "job", id, "key", m.keyFile())
				continue
			}
			plain, err := box.Open(sealed, secretAAD(id, name))
			if err != nil {
				m.lockSecret(id, name, sealed)
				m.log.Warn("a stored credential could not be opened (secret key changed?)", "job", id, "target", t, "scheme", s, "key", m.keyFile())
				continue
			}
			var c sealedCred
			if err := json.Unmarshal(plain, &c); err != nil {
				m.log.Warn("ignoring an unreadable credential", "job", id)
				continue
			}
			j.Credentials = append(j.Credentials, bits.Credential{Target: bits.AuthTarget(t), Scheme: bits.AuthScheme(s), UserName: c.User, Password: c.Password})
		}
		sortCredentials(j.Credentials)
		m.mu.Lock()
		e.job = j
		m.mu.Unlock()
	}
	return nil
}

func sortCredentials(cs []bits.Credential) {
	sort.Slice(cs, func(a, b int) bool {
		if cs[a].Target != cs[b].Target {
			return cs[a].Target < cs[b].Target
		}
		return cs[a].Scheme < cs[b].Scheme
	})
}

func checkAuth(t bits.AuthTarget, s bits.AuthScheme) error {
	if t != bits.AuthTargetServer && t != bits.AuthTargetProxy {
		return bits.Errorf(bits.BG_E_INVALID_AUTH_TARGET, "authentication target %d is not SERVER (1) or PROXY (2)", t)
	}
	if s < bits.AuthBasic || s > bits.AuthPassport {
		return bits.Errorf(bits.BG_E_INVALID_AUTH_SCHEME, "authentication scheme %d is not BASIC, DIGEST, NTLM, NEGOTIATE or PASSPORT", s)
	}
	return nil
}

// SetCredentials is IBackgroundCopyJob2::SetCredentials: one credential per
// (target, scheme), replacing an earlier one. The password is sealed in the
// store and can never be read back.
func (m *Manager) SetCredentials(ref string, c bits.Credential) error {
	if err := checkAuth(c.Target, c.Scheme); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(c.UserName); n > bits.MaxUserName {
		return bits.Errorf(bits.BG_E_USERNAME_TOO_LARGE, "the user name has %d characters; the limit is %d", n, bits.MaxUserName)
	}
	if n := utf8.RuneCountInString(c.Password); n > bits.MaxPassword {
		return bits.Errorf(bits.BG_E_PASSWORD_TOO_LARGE, "the password has %d characters; the limit is %d", n, bits.MaxPassword)
	}
	if (c.Scheme == bits.AuthBasic || c.Scheme == bits.AuthDigest) && (c.UserName == "" || c.Password == "") {
		return bits.Errorf(bits.E_INVALIDARG, "BASIC and DIGEST credentials need a user name and a password")
	}
	secrets, err := m.sealCredentials(ref, c)
	if err != nil {
		return err
	}
	return m.update(ref, func(ch *change) error {
		ch.setCredential(c, secrets)
		return nil
	})
}

// sealCredentials seals cs for the job ref names.
func (m *Manager) sealCredentials(ref string, cs ...bits.Credential) (map[string][]byte, error) {
	e, err := m.find(ref)
	if err != nil {
		return nil, err
	}
	box := m.secretBox()
	if box == nil {
		return nil, m.noKeyError("credentials") // secretkey.go
	}
	out := map[string][]byte{}
	for _, c := range cs {
		name := credName(c.Target, c.Scheme)
		plain, err := json.Marshal(sealedCred{User: c.UserName, Password: c.Password})
		if err != nil {
			return nil, bits.Errorf(bits.E_FAIL, "could not encode the credentials: %v", err)
		}
		sealed, err := box.Seal(plain, secretAAD(e.id, name))
		if err != nil {
			return nil, bits.Errorf(bits.E_FAIL, "could not seal the credentials: %v", err)
		}
		out[name] = sealed
	}
	return out, nil
}

// setCredential puts c (sealed in secrets) on the job, replacing the one
// of its target and scheme, in the same commit.
func (ch *change) setCredential(c bits.Credential, secrets map[string][]byte) {
	if ch.secrets == nil {
		ch.secrets = map[string][]byte{}
	}
	name := credName(c.Target, c.Scheme)
	ch.secrets[name] = secrets[name]
	cs := ch.job.Credentials[:0:0]
	for _, old := range ch.job.Credentials {
		if old.Target != c.Target || old.Scheme != c.Scheme {
			cs = append(cs, old)
		}
	}
	ch.job.Credentials = append(cs, c)
	sortCredentials(ch.job.Credentials)
}

// sealURLCredential seals the user name and password taken out of a URL:
// they become the job's server credentials for BASIC and DIGEST.
func (m *Manager) sealURLCredential(ref string, c bits.Credential) (map[string][]byte, error) {
	d := c
	d.Scheme = bits.AuthDigest
	return m.sealCredentials(ref, c, d)
}

// addURLCredential adds a URL's credential to the job; another server
// credential already there is a conflict.
func (ch *change) addURLCredential(c bits.Credential, secrets map[string][]byte) error {
	for _, scheme := range []bits.AuthScheme{bits.AuthBasic, bits.AuthDigest} {
		k := c
		k.Scheme = scheme
		for _, old := range ch.job.Credentials {
			if old.Target == k.Target && old.Scheme == k.Scheme && (old.UserName != k.UserName || old.Password != k.Password) {
				return bits.Errorf(bits.E_INVALIDARG, "the job already has other server credentials; a URL cannot carry different ones")
			}
		}
		ch.setCredential(k, secrets)
	}
	return nil
}

// RemoveCredentials is IBackgroundCopyJob2::RemoveCredentials; S_FALSE when
// the job had no such credential.
func (m *Manager) RemoveCredentials(ref string, t bits.AuthTarget, s bits.AuthScheme) (bits.HRESULT, error) {
	if err := checkAuth(t, s); err != nil {
		return 0, err
	}
	res := bits.S_OK
	err := m.update(ref, func(ch *change) error {
		cs := ch.job.Credentials[:0:0]
		for _, c := range ch.job.Credentials {
			if c.Target != t || c.Scheme != s {
				cs = append(cs, c)
			}
		}
		if len(cs) == len(ch.job.Credentials) {
			res = bits.S_FALSE
			ch.noop = true
			return nil
		}
		ch.job.Credentials = cs
		ch.dropSecrets = append(ch.dropSecrets, credName(t, s))
		return nil
	})
	if err != nil {
		return 0, err
	}
	return res, nil
}

// isToken reports an RFC 9110 token: a header name or a method.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// SetCustomHeaders is IBackgroundCopyJobHttpOptions::SetCustomHeaders: "Name:
// value" lines sent on every request of the job; "" removes them. Stored
// CRLF-terminated, as BITS expects them.
func (m *Manager) SetCustomHeaders(ref, headers string) error {
	var b strings.Builder
	for i, line := range strings.Split(strings.ReplaceAll(headers, "\r\n", "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			return bits.Errorf(bits.E_INVALIDARG, "header line %d %q is not \"Name: value\"", i+1, line)
		}
		if strings.ContainsAny(value, "\r\x00") {
			return bits.Errorf(bits.E_INVALIDARG, "header line %d has a control character in its value", i+1)
		}
		b.WriteString(name + ":" + value + "\r\n")
	}
	h := b.String()
	if len(h)+1 > bits.MaxCustomHeaders { // BITS counts the terminating NUL
		return bits.Errorf(bits.BG_E_STRING_TOO_LONG, "the headers have %d characters; the limit is %d", len(h), bits.MaxCustomHeaders-1)
	}
	var secrets map[string][]byte
	if _, secret := splitHeaders(h); secret {
		box := m.secretBox()
		if box == nil {
			return m.noKeyError("Authorization, Proxy-Authorization or Cookie headers") // secretkey.go
		}
		e, err := m.find(ref)
		if err != nil {
			return err
		}
		sealed, err := box.Seal([]byte(h), secretAAD(e.id, headersSecret))
		if err != nil {
			return bits.Errorf(bits.E_FAIL, "could not seal the headers: %v", err)
		}
		secrets = map[string][]byte{headersSecret: sealed}
	}
	return m.update(ref, func(c *change) error {
		c.job.CustomHeaders = h // still write-only when made so (one way)
		c.dropSecrets = append(c.dropSecrets, headersSecret)
		c.secrets = secrets
		return nil
	})
}

// MakeCustomHeadersWriteOnly is IBackgroundCopyJobHttpOptions2's: from now
// on the custom headers are sent but never shown again (one way).
func (m *Manager) MakeCustomHeadersWriteOnly(ref string) error {
	return m.update(ref, func(c *change) error {
		if c.job.HeadersWriteOnly {
			c.noop = true
			return nil
		}
		c.job.HeadersWriteOnly = true
		return nil
	})
}

// headersSecret names the sealed copy of custom headers that carry
// credentials: the job row keeps only the other lines.
const headersSecret = "headers"

// sensitiveHeaders carry credentials or sessions: sealed at rest.
var sensitiveHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true}

// splitHeaders returns the lines of h that may be stored as they are, and
// whether h has any that may not.
func splitHeaders(h string) (public string, secret bool) {
	var b strings.Builder
	for _, line := range strings.SplitAfter(h, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		if sensitiveHeaders[http.CanonicalHeaderKey(strings.TrimSpace(name))] {
			secret = true
			continue
		}
		b.WriteString(line)
	}
	return b.String(), secret
}

// defaultMethod is the verb a job uses unless told otherwise.
func defaultMethod(t bits.JobType) string {
	if t == bits.TypeDownload {
		return "GET"
	}
	return "BITS_POST"
}

// SetHTTPMethod is IBackgroundCopyJobHttpOptions2::SetHttpMethod: only before
// the first Resume; the default verb is a no-op; any other verb locks the job
// to FOREGROUND, and is refused on a job with DYNAMIC_CONTENT or
// ON_DEMAND_MODE (BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD; the other
// order is refused too).
func (m *Manager) SetHTTPMethod(ref, method string) error {
	if !isToken(method) || len(method) > 64 {
		return bits.Errorf(bits.E_INVALIDARG, "%q is not an HTTP method", method)
	}
	return m.update(ref, func(c *change) error {
		j := c.job
		if j.EverResumed {
			return bits.Errorf(bits.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, "the HTTP method can be set only before the job is first resumed")
		}
		if strings.EqualFold(method, defaultMethod(j.Type)) {
			j.HTTPMethod = ""
			return nil
		}
		if j.Dynamic {
			return bits.Errorf(bits.BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD, "a job with DYNAMIC_CONTENT keeps the default method; turn it off first")
		}
		j.HTTPMethod = method
		j.Priority = bits.PriorityForeground
		return nil
	})
}

// GetHTTPMethod returns the job's verb (the default one when none was set).
func (m *Manager) GetHTTPMethod(ref string) (string, error) {
	j, err := m.GetJob(ref)
	if err != nil {
		return "", err
	}
	if j.HTTPMethod != "" {
		return j.HTTPMethod, nil
	}
	return defaultMethod(j.Type), nil
}

// SetReplyFileName is IBackgroundCopyJob2::SetReplyFileName (upload-reply
// jobs only; "" lets the engine choose the name).
func (m *Manager) SetReplyFileName(ref, name string) error {
	if name != "" && (!filepath.IsAbs(name) || len(name) > bits.MaxLocalPath || strings.ContainsRune(name, 0)) {
		return bits.Errorf(bits.E_INVALIDARG, "the reply file name %q is not an absolute path", name)
	}
	if name != "" {
		name = filepath.Clean(name)
	}
	return m.update(ref, func(c *change) error {
		if c.job.Type != bits.TypeUploadReply {
			return bits.Errorf(bits.E_NOTIMPL, "only UPLOAD_REPLY jobs have a reply file; this one is %s", c.job.Type)
		}
		if c.job.State == bits.StateTransferred {
			return bits.Errorf(bits.BG_E_INVALID_STATE, "the reply has already been received")
		}
		if u := c.job.Upload; c.job.State == bits.StateTransferring && u != nil && u.ReplyTotal != bits.SizeUnknown {
			return bits.Errorf(bits.BG_E_INVALID_STATE, "the reply is being received; suspend the job to change its file name")
		}
		c.job.ReplyFileName = name
		return nil
	})
}

// GetReplyFileName is IBackgroundCopyJob2::GetReplyFileName.
func (m *Manager) GetReplyFileName(ref string) (string, error) {
	j, err := m.GetJob(ref)
	if err != nil {
		return "", err
	}
	if j.Type != bits.TypeUploadReply {
		return "", bits.Errorf(bits.E_NOTIMPL, "only UPLOAD_REPLY jobs have a reply file; this one is %s", j.Type)
	}
	return j.ReplyFileName, nil
}

// GetReplyData is IBackgroundCopyJob2::GetReplyData: the server's reply of a
// TRANSFERRED upload-reply job, at most 1 MiB (nil when it sent none).
func (m *Manager) GetReplyData(ref string) ([]byte, error) {
	j, err := m.GetJob(ref)
	if err != nil {
		return nil, err
	}
	if j.Type != bits.TypeUploadReply {
		return nil, bits.Errorf(bits.E_NOTIMPL, "only UPLOAD_REPLY jobs have reply data; this one is %s", j.Type)
	}
	if j.State != bits.StateTransferred && j.State != bits.StateAcknowledged {
		return nil, bits.Errorf(bits.BG_E_INVALID_STATE, "the reply is available once the job is TRANSFERRED; it is %s", j.State)
	}
	name := replyPath(j) // upload.go: the reply's temporary file until Complete
	if name == "" {
		return nil, nil
	}
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, bits.Errorf(bits.E_ACCESSDENIED, "could not read the reply file: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, bits.Errorf(bits.E_FAIL, "could not read the reply file: %v", err)
	}
	if st.Size() > bits.MaxReplyData {
		return nil, bits.Errorf(bits.BG_E_TOO_LARGE, "the reply has %d bytes, more than %d; read the reply file %s instead", st.Size(), bits.MaxReplyData, j.ReplyFileName)
	}
	buf := make([]byte, st.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, bits.Errorf(bits.E_FAIL, "could not read the reply file: %v", err)
	}
	return buf, nil
}
