package httpapi

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// Config is everything the HTTP adapter needs, assembled by the gateway's
// configuration (gateway/config) and validated there; New trusts it.
// Backpressure is not here: the anchorer decides it (gateway.Progress).
type Config struct {
	// Listen is the host:port of the one listener for every HTTP protocol.
	Listen string
	// TLS names the certificate and key files (both empty: plain HTTP).
	TLS TLS
	// Timeouts of the http.Server (see NewHTTPServer) and of shutdown
	// (ShutdownTimeout).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// Limits bounds one request.
	Limits ingest.Limits
	// Credentials are the clients; tokens are compared in constant time.
	Credentials []gateway.Credential
	// HEC bounds the indexer acknowledgement bookkeeping.
	HEC HEC
	// Elasticsearch is what GET / claims.
	Elasticsearch Elasticsearch
	// LedgerProbeInterval is how often Run pings the ledger.
	LedgerProbeInterval time.Duration
	// LedgerStaleAfter is how long the ledger may go without a successful
	// contact before /readyz reports it unreachable.
	LedgerStaleAfter time.Duration
	// RequireMetricsCredential makes GET /metrics require "Authorization:
	// Bearer <token>" of a credential with the metrics scope (false: open,
	// as Prometheus exporters usually are).
	RequireMetricsCredential bool
}

// TLS names certificate files.
type TLS struct {
	CertFile string
	KeyFile  string
}

// Enabled reports whether a certificate is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// HEC configures Splunk HEC indexer acknowledgement bookkeeping.
type HEC struct {
	// MaxChannels bounds the channels tracked at once.
	MaxChannels int
	// MaxAcksPerChannel bounds the unqueried ack ids of one channel.
	MaxAcksPerChannel int
	// ChannelIdleTimeout forgets a channel unused this long (Splunk's
	// maxIdleTime).
	ChannelIdleTimeout time.Duration
}

// Elasticsearch configures what GET / claims.
type Elasticsearch struct {
	ClusterName string
	ClusterUUID string
	Version     string
}

// NewHTTPServer returns the http.Server for this API with the configured
// address and timeouts; serve it with Serve and shut it down within
// ShutdownTimeout.
func (s *Server) NewHTTPServer() *http.Server {
	return &http.Server{
		Addr:              s.cfg.Listen,
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve serves srv (from NewHTTPServer) on ln, over TLS with the
// configured certificate when Config.TLS is enabled. It returns nil once
// srv is shut down, and the serving error otherwise.
func (s *Server) Serve(srv *http.Server, ln net.Listener) error {
	var err error
	if s.cfg.TLS.Enabled() {
		err = srv.ServeTLS(ln, s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// TLSEnabled reports whether Serve serves TLS.
func (s *Server) TLSEnabled() bool { return s.cfg.TLS.Enabled() }

// ShutdownTimeout is how long in-flight requests get to finish when the
// gateway shuts down (Config.ShutdownTimeout).
func (s *Server) ShutdownTimeout() time.Duration { return s.cfg.ShutdownTimeout }
