package engine

import (
	"path/filepath"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/transfer"
)

// SetSecurityFlags is IBackgroundCopyJobHttpOptions::SetSecurityFlags: the
// BG_SSL_IGNORE_* flags (0x2 CN, 0x4 date, 0x8 unknown CA, 0x10 wrong
// usage), BG_SSL_ENABLE_CRL_CHECK (0x1, accepted; Ferry does not fetch
// revocation lists), the redirect policy (0x0 ALLOW_SILENT, 0x100
// ALLOW_REPORT, 0x200 DISALLOW) and 0x800 ALLOW_HTTPS_TO_HTTP. Unknown bits
// are E_NOTIMPL. A transferring job restarts with the new flags.
func (m *Manager) SetSecurityFlags(ref string, flags uint32) error {
	if !transfer.ValidSecurityFlags(flags) {
		return bits.Errorf(bits.E_NOTIMPL, "0x%X is not a combination of the security flags (0x1 CRL check, 0x2 ignore CN, 0x4 ignore date, 0x8 ignore unknown CA, 0x10 ignore wrong usage, redirect policy 0x0/0x100/0x200, 0x800 allow https→http)", flags)
	}
	return m.update(ref, func(c *change) error {
		c.job.SecurityFlags = flags
		c.restart = true
		return nil
	})
}

// GetSecurityFlags is IBackgroundCopyJobHttpOptions::GetSecurityFlags.
func (m *Manager) GetSecurityFlags(ref string) (uint32, error) {
	j, err := m.GetJob(ref)
	if err != nil {
		return 0, err
	}
	return j.SecurityFlags, nil
}

// SetClientCertificate gives the job a client certificate for HTTPS: a PEM
// certificate (chain) file and its PEM private key file, both absolute
// paths, checked now and read again for every transfer. It is Ferry's
// cross-platform stand-in for SetClientCertificateByID/ByName, which name a
// certificate in a Windows store. Only the paths are recorded.
func (m *Manager) SetClientCertificate(ref, certFile, keyFile string) error {
	for _, p := range []string{certFile, keyFile} {
		if p == "" || !filepath.IsAbs(p) || len(p) > bits.MaxLocalPath || strings.ContainsRune(p, 0) {
			return bits.Errorf(bits.E_INVALIDARG, "the certificate and key must be absolute paths of PEM files, not %q", p)
		}
	}
	cert := &bits.ClientCert{CertFile: filepath.Clean(certFile), KeyFile: filepath.Clean(keyFile)}
	if _, err := transfer.LoadClientCert(cert); err != nil {
		return err
	}
	return m.update(ref, func(c *change) error {
		c.job.ClientCert = cert
		c.restart = true
		return nil
	})
}

// GetClientCertificate returns the job's client certificate files (nil: none).
func (m *Manager) GetClientCertificate(ref string) (*bits.ClientCert, error) {
	j, err := m.GetJob(ref)
	if err != nil {
		return nil, err
	}
	return j.ClientCert, nil
}

// RemoveClientCertificate is IBackgroundCopyJobHttpOptions::
// RemoveClientCertificate; S_FALSE when the job had none.
func (m *Manager) RemoveClientCertificate(ref string) (bits.HRESULT, error) {
	res := bits.S_OK
	err := m.update(ref, func(c *change) error {
		if c.job.ClientCert == nil {
			res = bits.S_FALSE
			return nil
		}
		c.job.ClientCert = nil
		c.restart = true
		return nil
	})
	return res, err
}
