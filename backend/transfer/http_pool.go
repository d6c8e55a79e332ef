package transfer

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
)

// maxIdleTransports bounds the per-job TLS transports kept between calls
// (each holds its own idle connections).
const maxIdleTransports = 8

// tlsPool keeps the transports of jobs with their own TLS options (relaxed
// certificate checks, a client certificate) between calls, so that the
// files of such a job reuse kept-alive connections instead of paying a TCP
// and TLS handshake each. A transport serves one TLS configuration only, so
// a relaxed connection is never reused by a job that did not ask for it,
// and one call at a time: its certificate check reads the host of that
// call's request in flight (see hostTracker).
type tlsPool struct {
	mu   sync.Mutex
	idle []*leasedTransport // least recently returned first
}

// leasedTransport is a per-configuration transport and the host tracker its
// certificate check reads.
type leasedTransport struct {
	key  string
	tr   *http.Transport
	host *hostTracker
}

// tlsKey names a TLS configuration: the relaxed checks and the client
// certificate's chain (the same chain implies the same private key, or
// loading it would have failed).
func tlsKey(ignore uint32, cert *tls.Certificate) string {
	h := sha256.New()
	if cert != nil {
		for _, der := range cert.Certificate {
			h.Write(der)
		}
	}
	return fmt.Sprintf("%x/%t/%s", ignore, cert != nil, hex.EncodeToString(h.Sum(nil)))
}

// get leases an idle transport of key, or nil if there is none.
func (p *tlsPool) get(key string) *leasedTransport {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.idle) - 1; i >= 0; i-- {
		if lt := p.idle[i]; lt.key == key {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return lt
		}
	}
	return nil
}

// put returns a transport after a call, dropping the least recently used
// one past maxIdleTransports.
func (p *tlsPool) put(lt *leasedTransport) {
	p.mu.Lock()
	p.idle = append(p.idle, lt)
	var evicted *leasedTransport
	if len(p.idle) > maxIdleTransports {
		evicted = p.idle[0]
		p.idle = append(p.idle[:0], p.idle[1:]...)
	}
	p.mu.Unlock()
	if evicted != nil {
		evicted.tr.CloseIdleConnections()
	}
}

// closeIdle drops every idle transport and its connections.
func (p *tlsPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, lt := range idle {
		lt.tr.CloseIdleConnections()
	}
}
