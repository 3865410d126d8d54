// Package httpapi is the gateway's HTTP adapter, built on gin: every HTTP
// ingest protocol on one listener (Splunk HEC, Elasticsearch _bulk,
// OTLP/HTTP logs, NDJSON), the proof read API, and the operational
// endpoints (/healthz, /readyz, /metrics, /openapi.yaml).
//
// Guarantees:
//   - every ingest and read request is authenticated by a credential from
//     the configuration, compared in constant time, and must hold the scope
//     of its endpoint and, for writes, the index it targets;
//   - a body is bounded before it is read (Content-Length and
//     http.MaxBytesReader) and after gzip decoding (ingest.ReadBody);
//   - a request is parsed whole before anything is stored: a malformed
//     request stores nothing (except where the protocol itself has per-item
//     results: Elasticsearch _bulk, OTLP partial success);
//   - success is answered only after EventLog.Append returned, that is after
//     the events are fsynced;
//   - when the ledger is too far behind (unanchored events or pending
//     batches over the configured limits) ingest answers 503 with
//     Retry-After, never drops silently;
//   - failures use one vocabulary, Code, mapped to HTTP status by HTTPStatus
//     alone; HEC, Elasticsearch and OTLP answers keep their protocols' own
//     bodies so unmodified clients understand them.
//
// gin (github.com/gin-gonic/gin) is used in release mode without its
// logger: its radix-tree router gives route patterns for metrics labels
// and the OpenAPI coverage test, and it is the most used Go HTTP framework,
// kept current. Logging is log/slog.
package httpapi

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/metrics"
)

// OpenAPI is the OpenAPI 3 document of this API, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// AnchorStatus is what the API needs to know about the anchoring loop
// (gateway/cmd adapts anchor.Status to it).
type AnchorStatus struct {
	// Pending is the number of sealed batches waiting for the ledger.
	Pending int
	// Rejected is true while the ledger permanently refuses the oldest batch.
	Rejected bool
	// LastError is the last anchoring failure, "" after a success.
	LastError string
	// LastAnchored is when a batch was last anchored (zero: never).
	LastAnchored time.Time
}

// Deps are the adapters the API uses. Log and Batches are required.
type Deps struct {
	Log     gateway.EventLog
	Batches gateway.BatchLog
	// Anchoring reports the anchoring loop (nil: nothing pending, never
	// rejected).
	Anchoring func() AnchorStatus
	// LedgerPing checks the ledger answers; Run calls it every
	// ledger.probe_interval (nil: the ledger counts as reachable).
	LedgerPing func(context.Context) error
	// Classify maps adapter errors (the store's) to codes.
	Classify Classifier
	// Metrics receives the API's metrics (nil: a private set).
	Metrics *metrics.Metrics
	// Logger is the structured logger (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now); it stamps Event.Received.
	Now func() time.Time
}

// Server is the HTTP API. Create it with New; serve Handler; run Run for
// its background work (ledger probe, channel expiry); feed it anchoring
// progress with OnAnchored.
type Server struct {
	cfg    config.Config
	lim    ingest.Limits
	deps   Deps
	log    *slog.Logger
	now    func() time.Time
	m      *metrics.Metrics
	creds  *credentials
	acks   *acks
	prog   progress
	engine *gin.Engine

	ledgerOK    atomic.Int64 // unix nanos of the last successful ledger contact
	ledgerErr   atomic.Pointer[string]
	storeFailed atomic.Pointer[string]
	started     time.Time
}

// New builds the API over cfg (already validated) and deps.
func New(cfg config.Config, deps Deps) (*Server, error) {
	if deps.Log == nil || deps.Batches == nil {
		return nil, errorf(CodeInternal, "httpapi: Log and Batches are required")
	}
	s := &Server{
		cfg:   cfg,
		lim:   ingest.Limits{MaxBodyBytes: cfg.Limits.MaxBodyBytes, MaxEvents: cfg.Limits.MaxEvents, MaxLineBytes: cfg.Limits.MaxLineBytes}.WithDefaults(),
		deps:  deps,
		log:   deps.Logger,
		now:   deps.Now,
		m:     deps.Metrics,
		creds: newCredentials(cfg.Credentials),
		acks:  newAcks(cfg.HEC.MaxChannels, cfg.HEC.MaxAcksPerChannel, cfg.HEC.ChannelIdleTimeout),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.m == nil {
		s.m = metrics.New()
	}
	s.started = s.now()
	if err := s.registerGauges(); err != nil {
		return nil, err
	}
	s.engine = s.routes()
	return s, nil
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.engine }

// Engine exposes the gin engine (its route table), for tests and tools.
func (s *Server) Engine() *gin.Engine { return s.engine }

// SetLastAnchored records the most recently anchored batch known at
// start-up (see LastAnchored).
func (s *Server) SetLastAnchored(b gateway.Batch) { s.prog.setAnchored(b) }

// OnAnchored is the anchoring loop's callback: it moves the anchored tree
// size (turning HEC acks true), records the transaction for the checkpoint
// endpoint and counts the batch.
func (s *Server) OnAnchored(b gateway.Batch, a gateway.Anchor) {
	b.State = gateway.BatchAnchored
	b.TxID, b.BlockNumber = a.TxID, a.BlockNumber
	if b.AnchoredAt.IsZero() {
		b.AnchoredAt = s.now().UTC()
	}
	s.prog.setAnchored(b)
	s.ledgerOK.Store(s.now().UnixNano())
	s.m.AnchoredBatches.Inc()
	s.m.BatchSize.Observe(float64(b.TreeSizeAfter - b.TreeSizeBefore))
}

// Run does the background work until ctx ends: probing the ledger every
// ledger.probe_interval and expiring idle HEC channels. It returns nil.
func (s *Server) Run(ctx context.Context) error {
	s.probeLedger(ctx)
	t := time.NewTicker(s.cfg.Ledger.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.probeLedger(ctx)
			s.acks.sweep(s.now())
		}
	}
}

func (s *Server) probeLedger(ctx context.Context) {
	if s.deps.LedgerPing == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.Ledger.ProbeInterval)
	defer cancel()
	if err := s.deps.LedgerPing(pctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		msg := err.Error()
		s.ledgerErr.Store(&msg)
		s.log.Warn("ledger probe failed", "err", err)
		return
	}
	s.ledgerErr.Store(nil)
	s.ledgerOK.Store(s.now().UnixNano())
}

func (s *Server) anchorStatus() AnchorStatus {
	if s.deps.Anchoring == nil {
		return AnchorStatus{}
	}
	return s.deps.Anchoring()
}

func (s *Server) size(ctx context.Context) uint64 {
	cp, err := s.deps.Log.Checkpoint(ctx)
	if err != nil {
		return 0
	}
	return cp.Size
}

// Busy reports whether ingest must push back, and why. The syslog listener
// uses it too, to stop reading instead of answering.
func (s *Server) Busy(ctx context.Context) (bool, string) {
	anchored, _, _ := s.prog.snapshot(s.now())
	size := s.size(ctx)
	if size > anchored && size-anchored > s.cfg.Backpressure.MaxUnanchoredEvents {
		return true, strconv.FormatUint(size-anchored, 10) + " events are not anchored yet (limit " + strconv.FormatUint(s.cfg.Backpressure.MaxUnanchoredEvents, 10) + ")"
	}
	if p := s.anchorStatus().Pending; p > s.cfg.Backpressure.MaxPendingBatches {
		return true, strconv.Itoa(p) + " batches wait for the ledger (limit " + strconv.Itoa(s.cfg.Backpressure.MaxPendingBatches) + ")"
	}
	return false, ""
}

func (s *Server) retryAfter() string {
	return strconv.Itoa(int(s.cfg.Backpressure.RetryAfter / time.Second))
}

// store appends events and returns them with Seq set once durable,
// updating the metrics and the lag marks.
func (s *Server) store(ctx context.Context, proto string, events []gateway.Event) ([]gateway.Event, *Error) {
	if len(events) == 0 {
		return nil, nil
	}
	out, err := s.deps.Log.Append(ctx, events)
	if err != nil {
		e := asError(err, s.deps.Classify)
		if e.Code == CodeStoreFailed {
			msg := err.Error()
			s.storeFailed.Store(&msg)
		}
		s.log.Error("store append failed", "protocol", proto, "events", len(events), "err", err)
		return nil, e
	}
	var maxSeq uint64
	for _, e := range out {
		maxSeq = max(maxSeq, e.Seq)
	}
	s.prog.appended(maxSeq+1, s.now())
	s.m.Accepted(proto, len(out))
	return out, nil
}

// checkIndexes refuses the first event whose index the credential may not
// write.
func checkIndexes(cr config.Credential, events []gateway.Event) *Error {
	for i, ev := range events {
		if !cr.IndexAllowed(ev.Index) {
			return &Error{Code: CodeForbidden, Msg: "event " + strconv.Itoa(i) + ": credential " + cr.Name + " may not write index " + strconv.Quote(ev.Index), Event: i}
		}
	}
	return nil
}

// meta is the request defaults a credential gives its events.
func (s *Server) meta(cr config.Credential) ingest.Meta {
	return ingest.Meta{Source: cr.EventSource(), Sourcetype: cr.Sourcetype, Index: cr.DefaultIndex(), Received: s.now().UTC()}
}

// readBody bounds and reads the request body (undoing gzip).
func (s *Server) readBody(c *gin.Context) ([]byte, *Error) {
	if c.Request.ContentLength > s.lim.MaxBodyBytes {
		return nil, errorf(CodeTooLarge, "body of "+strconv.FormatInt(c.Request.ContentLength, 10)+" bytes exceeds the limit of "+strconv.FormatInt(s.lim.MaxBodyBytes, 10)+" bytes")
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, s.lim.MaxBodyBytes)
	b, err := ingest.ReadBody(r, c.GetHeader("Content-Encoding"), s.lim.MaxBodyBytes)
	if err != nil {
		return nil, asError(err, nil)
	}
	return b, nil
}

// reject counts a refusal.
func (s *Server) reject(proto string, e *Error) {
	s.m.Rejected(proto, string(e.Code))
}

// fail answers e with the gateway's own JSON error body.
func (s *Server) fail(c *gin.Context, proto string, e *Error) {
	s.reject(proto, e)
	if e.Code == CodeBusy || e.Code == CodeUnavailable {
		c.Header("Retry-After", s.retryAfter())
	}
	if e.Code == CodeUnauthenticated {
		c.Header("WWW-Authenticate", `Bearer realm="ledgerguard"`)
	}
	c.AbortWithStatusJSON(HTTPStatus(e.Code), newErrorBody(e))
}
