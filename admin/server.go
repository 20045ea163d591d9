package admin

import (
	"crypto/tls"
	"net/http"
	"time"
)

// Server timeouts. Reading a request is bounded so that a client that
// trickles headers or a body (slowloris) costs little. There is no global
// WriteTimeout: it would cut off blocking queries, which may wait 10m plus
// jitter; each request sets its own write deadline instead (see wrap and
// block).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// NewServer returns an *http.Server for h with slowloris-safe timeouts
// (ReadHeaderTimeout 10s, ReadTimeout 30s, IdleTimeout 2m, MaxHeaderBytes
// 64 KiB) and per-request write deadlines in place of WriteTimeout.
// tlsConfig may be nil; when given, it gets at least TLS 1.2.
func NewServer(addr string, h http.Handler, tlsConfig *tls.Config) *http.Server {
	if tlsConfig != nil {
		tlsConfig = tlsConfig.Clone()
		tlsConfig.MinVersion = max(tlsConfig.MinVersion, tls.VersionTLS12)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}
