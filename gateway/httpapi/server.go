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
//     http.MaxBytesReader) and after gzip decoding (ingest.ReadBody), and
//     its decoded size is bounded before it is decoded (the decode budget,
//     ingest.Limits.MaxDecodeBytes; OTLP's otlp.Prescan);
//   - the requests of all ingest protocols decoded and stored at once hold
//     together at most ingest.Limits.MaxDecodingBytes, each weighed by its
//     estimated decoded size or its body (ingest.Decoders); one that waits
//     past DecodeWait for room gets 503 with Retry-After;
//   - a request is parsed whole before anything is stored: a malformed
//     request stores nothing (except where the protocol itself has per-item
//     results: Elasticsearch _bulk items, OTLP partial success, NDJSON line
//     errors, which store the good records and name the bad ones);
//   - client input never gets a 5xx: a record whose values cannot be
//     stored is refused as that record's error by the parsers (package
//     ingest), and should one reach the store anyway its refusal is a 400;
//   - every request has an occurrence key (ingest.Meta.Key): the client's
//     Idempotency-Key (scoped by credential, and for HEC by data channel)
//     or else a fresh nonce, so identical events are stored as distinct
//     events while a retry under the same key stores nothing twice (the
//     rule per protocol is in package ingest);
//   - success is answered only after EventLog.Append returned, that is after
//     the events are fsynced;
//   - when the anchorer says so (gateway.Progress.Busy: unanchored events or
//     pending batches over its limits) ingest answers 503 with Retry-After,
//     never drops silently;
//   - failures use the gateway's one vocabulary, gateway.Code, mapped to
//     HTTP status by HTTPStatus alone; HEC, Elasticsearch and OTLP answers
//     derive their protocols' own bodies from the same codes so unmodified
//     clients understand them.
//
// The adapter takes its own settings (Config) and never imports the
// configuration package or any pipeline.
//
// gin (github.com/gin-gonic/gin) is used in release mode without its
// logger: its radix-tree router gives route patterns for metrics labels
// and the OpenAPI coverage test, and it is the most used Go HTTP framework,
// kept current. Logging is log/slog.
package httpapi

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/metrics"
)

// OpenAPI is the OpenAPI 3 document of this API, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Deps are the adapters the API uses. Log, Batches and Progress are
// required.
type Deps struct {
	Log     gateway.EventLog
	Batches gateway.BatchLog
	// Progress is the owner of anchoring progress (the anchorer): the
	// anchored size for HEC acks and checkpoints, readiness, backpressure.
	// New subscribes to it, so create the API before the anchorer runs.
	Progress gateway.Progress
	// LedgerPing checks the ledger answers; Run calls it every
	// LedgerProbeInterval (nil: the ledger counts as reachable).
	LedgerPing func(context.Context) error
	// Metrics receives the API's metrics (nil: a private set).
	Metrics *metrics.Metrics
	// Logger is the structured logger (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now); it stamps Event.Received.
	Now func() time.Time
	// Nonce returns a fresh per-request nonce, the occurrence key of a
	// request without an idempotency key (nil: 128 random bits in hex).
	// Tests fix it to get reproducible ids.
	Nonce func() string
	// Console, when set, is served at /console/ (gateway/console; passed
	// as a handler so this adapter does not import it).
	Console http.Handler
	// TAXII, when set, is served at /taxii2/ (gateway/taxii, which
	// authenticates its own requests; a handler for the same reason).
	TAXII http.Handler
	// Shadow, when set, reports the shadow models (gateway/shadow) at GET
	// /v1/models/shadow; unset, that route answers an empty list.
	Shadow func() []gateway.ShadowStats
	// Drift, when set, reports each model's input drift in the same
	// answer (gateway/shadow's Drift).
	Drift func() []gateway.DriftStats
}

// Server is the HTTP API. Create it with New; serve Handler; run Run for
// its background work (ledger probe, channel expiry).
type Server struct {
	cfg    Config
	lim    ingest.Limits
	deps   Deps
	log    *slog.Logger
	now    func() time.Time
	m      *metrics.Metrics
	creds  *credentials
	acks   *acks
	prog   gateway.Progress
	dec    *ingest.Decoders // concurrent decodes of every ingest protocol
	engine *gin.Engine

	ledgerOK    atomic.Int64 // unix nanos of the last successful ledger contact
	ledgerErr   atomic.Pointer[string]
	storeFailed atomic.Pointer[string]
	started     time.Time
}

// New builds the API over cfg (already validated) and deps.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Log == nil || deps.Batches == nil || deps.Progress == nil {
		return nil, errorf(gateway.CodeInternal, "httpapi: Log, Batches and Progress are required")
	}
	s := &Server{
		cfg:   cfg,
		lim:   cfg.Limits.WithDefaults(),
		deps:  deps,
		log:   deps.Logger,
		now:   deps.Now,
		m:     deps.Metrics,
		creds: newCredentials(cfg.Credentials),
		acks:  newAcks(cfg.HEC.MaxChannels, cfg.HEC.MaxAcksPerChannel, cfg.HEC.ChannelIdleTimeout),
		prog:  deps.Progress,
		dec:   ingest.NewDecoders(cfg.Limits),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.deps.Nonce == nil {
		s.deps.Nonce = nonce
	}
	if s.m == nil {
		s.m = metrics.New()
	}
	s.started = s.now()
	if err := s.registerGauges(); err != nil {
		return nil, err
	}
	s.engine = s.routes()
	s.prog.Subscribe(s.onAnchored)
	return s, nil
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.engine }

// Engine exposes the gin engine (its route table), for tests and tools.
func (s *Server) Engine() *gin.Engine { return s.engine }

// onAnchored is the anchorer's notification: the ledger answered, and the
// batch is counted.
func (s *Server) onAnchored(b gateway.Batch, _ gateway.Anchor) {
	s.ledgerOK.Store(s.now().UnixNano())
	s.m.AnchoredBatches.Inc()
	s.m.BatchSize.Observe(float64(b.TreeSizeAfter - b.TreeSizeBefore))
}

// Run does the background work until ctx ends: probing the ledger every
// ledger.probe_interval and expiring idle HEC channels. It returns nil.
func (s *Server) Run(ctx context.Context) error {
	s.probeLedger(ctx)
	t := time.NewTicker(s.cfg.LedgerProbeInterval)
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
	pctx, cancel := context.WithTimeout(ctx, s.cfg.LedgerProbeInterval)
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

func (s *Server) size(ctx context.Context) uint64 {
	cp, err := s.deps.Log.Checkpoint(ctx)
	if err != nil {
		return 0
	}
	return cp.Size
}

func (s *Server) retryAfter() string {
	return strconv.Itoa(int(s.prog.RetryAfter() / time.Second))
}

// phaseTimer observes the phases of one ingest request into
// ledgerguard_ingest_phase_seconds: each done(phase) records the time
// since the previous one (or since the timer started).
type phaseTimer struct {
	s     *Server
	proto string
	last  time.Time
}

// phases starts timing an ingest request's phases.
func (s *Server) phases(proto string) *phaseTimer {
	return &phaseTimer{s: s, proto: proto, last: time.Now()}
}

func (p *phaseTimer) done(phase string) {
	now := time.Now()
	p.s.m.IngestPhase.WithLabelValues(p.proto, phase).Observe(now.Sub(p.last).Seconds())
	p.last = now
}

// store appends events and returns them with Seq set once durable,
// updating the metrics and the lag marks.
func (s *Server) store(ctx context.Context, proto string, events []gateway.Event) ([]gateway.Event, *Error) {
	if len(events) == 0 {
		return nil, nil
	}
	out, err := s.deps.Log.Append(ctx, events)
	if err != nil {
		e := asError(err)
		if e.Code == gateway.CodeStoreFailed {
			msg := err.Error()
			s.storeFailed.Store(&msg)
		}
		if e.Code.Class() == gateway.CodeInvalid {
			// A client's value the parsers should have refused: the client
			// gets 400, the operator a warning, not an ERROR.
			s.log.Warn("store refused an event", "protocol", proto, "events", len(events), "err", err)
		} else {
			s.log.Error("store append failed", "protocol", proto, "events", len(events), "err", err)
		}
		return nil, e
	}
	var maxSeq uint64
	for _, e := range out {
		maxSeq = max(maxSeq, e.Seq)
	}
	s.prog.Appended(maxSeq+1, s.now())
	s.m.Accepted(proto, len(out))
	return out, nil
}

// checkIndexes refuses the first event whose index the credential may not
// write.
func checkIndexes(cr gateway.Credential, events []gateway.Event) *Error {
	for i, ev := range events {
		if !cr.IndexAllowed(ev.Index) {
			return &Error{Code: gateway.CodeForbidden, Msg: "event " + strconv.Itoa(i) + ": credential " + cr.Name + " may not write index " + strconv.Quote(ev.Index), Event: i}
		}
	}
	return nil
}

// meta is the request defaults a credential gives its events, with the
// request's occurrence key (see requestKey).
func (s *Server) meta(c *gin.Context, cr gateway.Credential) ingest.Meta {
	return ingest.Meta{Source: cr.EventSource(), Sourcetype: cr.Sourcetype, Index: cr.DefaultIndex(), Received: s.now().UTC(),
		Key: s.requestKey(cr, c.GetHeader(HeaderIdempotencyKey), "")}
}

// HeaderIdempotencyKey is the request header by which a client names a
// request so that a retry of it stores nothing twice (NDJSON, OTLP,
// Elasticsearch _bulk items without _id, and HEC together with a channel).
const HeaderIdempotencyKey = "Idempotency-Key"

// requestKey is the occurrence scope of a request's events (ingest.Meta.Key,
// see package ingest): the client's idempotency key, scoped by credential
// and, for HEC, by data channel, when the client gave one; else a fresh
// random nonce, so identical events of different requests stay distinct.
// scope is the HEC channel ("" for other protocols); a HEC request with a
// key but no channel gets a nonce, as its rule requires both.
func (s *Server) requestKey(cr gateway.Credential, idempotencyKey, channel string) string {
	k := strings.TrimSpace(idempotencyKey)
	if k == "" {
		return "nonce:" + s.deps.Nonce()
	}
	return "key:" + strconv.Itoa(len(cr.Name)) + ":" + cr.Name + ":" + strconv.Itoa(len(channel)) + ":" + channel + ":" + k
}

// nonce returns 128 random bits in hex.
func nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// readBody bounds and reads the request body (undoing gzip), then takes a
// decode slot (ingest.Decoders) that releaseDecode gives back when the
// handler returns: the slot is held while the request is decoded and its
// events stored, not while a slow client sends its body. No slot within
// the limits' DecodeWait is CodeBusy (503 with Retry-After).
func (s *Server) readBody(c *gin.Context) ([]byte, *Error) {
	var weigh func([]byte) (int64, error)
	if jsonBodies[c.FullPath()] {
		weigh = s.weighJSON
	}
	return s.readBodyWeighed(c, weigh)
}

// weighJSON checks a JSON body's token count against the per-request
// decode limit and returns its estimated decoded size: decoded, a JSON
// body holds several times its bytes until the store's fsync.
func (s *Server) weighJSON(b []byte) (int64, error) {
	est := ingest.DecodeEstimate{Body: int64(len(b)), Values: ingest.CountJSONTokens(b)}
	if err := s.lim.CheckDecode("ingest", est); err != nil {
		return 0, err
	}
	return est.Bytes(), nil
}

// readBodyWeighed is readBody with weigh, when not nil, refusing a body it
// cannot accept and giving its weight in the decode budget (its estimated
// decoded size); nil weighs the decompressed body.
func (s *Server) readBodyWeighed(c *gin.Context, weigh func([]byte) (int64, error)) ([]byte, *Error) {
	if c.Request.ContentLength > s.lim.MaxBodyBytes {
		return nil, errorf(gateway.CodeTooLarge, "body of "+strconv.FormatInt(c.Request.ContentLength, 10)+" bytes exceeds the limit of "+strconv.FormatInt(s.lim.MaxBodyBytes, 10)+" bytes")
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, s.lim.MaxBodyBytes)
	b, err := ingest.ReadBodySized(r, c.GetHeader("Content-Encoding"), s.lim.MaxBodyBytes, c.Request.ContentLength)
	if err != nil {
		return nil, asError(err)
	}
	weight := int64(len(b)) // what the request weighs in the decode budget
	if weigh != nil {
		if weight, err = weigh(b); err != nil {
			return nil, asError(err)
		}
	}
	if _, held := c.Get(decodeSlotKey); !held {
		release, err := s.dec.Acquire(c.Request.Context(), weight)
		if err != nil {
			return nil, asError(err)
		}
		c.Set(decodeSlotKey, release)
	}
	return b, nil
}

// jsonBodies are the routes whose bodies are JSON documents decoded
// generically (HEC events, _bulk, NDJSON): readBody checks the per-request
// decode budget on their token count before the parser allocates. OTLP
// is weighed by otlp.Prescan (its handler); HEC raw bodies are lines,
// weighed by their bytes.
var jsonBodies = map[string]bool{
	"/services/collector": true, "/services/collector/event": true, "/services/collector/event/1.0": true,
	"/_bulk": true, "/:index/_bulk": true, "/v1/events": true,
}

// decodeSlotKey is the gin context key of a request's decode slot release.
const decodeSlotKey = "ledgerguard.decodeSlot"

// releaseDecode is the middleware that gives back the decode slot
// readBody took, once the handler has returned (or panicked).
func (s *Server) releaseDecode(c *gin.Context) {
	defer func() {
		if v, ok := c.Get(decodeSlotKey); ok {
			if release, ok := v.(func()); ok {
				release()
			}
		}
	}()
	c.Next()
}

// reject counts a refusal.
func (s *Server) reject(proto string, e *Error) {
	s.m.Rejected(proto, string(e.Code.Class()))
}

// fail answers e with the gateway's own JSON error body.
func (s *Server) fail(c *gin.Context, proto string, e *Error) {
	s.reject(proto, e)
	if e.Code == gateway.CodeBusy || e.Code == gateway.CodeUnavailable {
		c.Header("Retry-After", s.retryAfter())
	}
	if e.Code == gateway.CodeUnauthenticated {
		c.Header("WWW-Authenticate", `Bearer realm="ledgerguard"`)
	}
	c.AbortWithStatusJSON(HTTPStatus(e.Code), newErrorBody(e))
}

// lag is the age of the oldest stored event not yet anchored (0 when all
// are anchored).
func (s *Server) lag() time.Duration {
	oldest := s.prog.Status().OldestUnanchored
	if oldest.IsZero() {
		return 0
	}
	return max(s.now().Sub(oldest), 0)
}
