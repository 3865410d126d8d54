package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Protocol names, the "protocol" label of the metrics.
const (
	protoHEC    = "hec"
	protoES     = "elasticsearch"
	protoOTLP   = "otlp"
	protoNDJSON = "ndjson"
	protoRead   = "read"
	// protoMetrics labels refused scrapes of /metrics.
	protoMetrics = "metrics"
)

func init() {
	// Release mode: no debug route dump on start. Set once, process-wide,
	// since gin keeps it in a global.
	gin.SetMode(gin.ReleaseMode)
}

func (s *Server) routes() *gin.Engine {
	if s.cfg.RequireMetricsCredential && !gateway.AnyHas(s.cfg.Credentials, gateway.ScopeMetrics) {
		s.log.Warn("/metrics requires a credential with the metrics scope and none is configured: every scrape is refused (add one, or set metrics.auth: none)")
	}
	r := gin.New()
	r.HandleMethodNotAllowed = false
	r.ContextWithFallback = true // c.Request.Context() cancellation reaches handlers using c
	r.Use(s.observe, s.recover, s.releaseDecode)
	r.NoRoute(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusNotFound, newErrorBody(errorf(gateway.CodeNotFound, "no route "+c.Request.Method+" "+c.Request.URL.Path)))
	})

	// Operations.
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metricsAuth, gin.WrapH(s.m.Handler()))
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", OpenAPI) })

	// Splunk HEC.
	for _, p := range []string{"/services/collector", "/services/collector/event", "/services/collector/event/1.0"} {
		r.POST(p, s.hecEvent)
	}
	for _, p := range []string{"/services/collector/raw", "/services/collector/raw/1.0"} {
		r.POST(p, s.hecRaw)
	}
	r.GET("/services/collector/health", s.hecHealth)
	r.GET("/services/collector/health/1.0", s.hecHealth)
	r.POST("/services/collector/ack", s.hecAck)

	// Elasticsearch.
	r.GET("/", s.esInfo)
	r.HEAD("/", s.esInfo)
	r.POST("/_bulk", s.esBulk)
	r.PUT("/_bulk", s.esBulk)
	r.POST("/:index/_bulk", s.esBulk)
	r.PUT("/:index/_bulk", s.esBulk)

	// OTLP/HTTP and the native NDJSON API.
	r.POST("/v1/logs", s.otlpLogs)
	r.POST("/v1/events", s.ndjsonEvents)

	// Read API.
	r.GET("/v1/events/:id", s.getEvent)
	r.GET("/v1/batches/:id", s.getBatch)
	r.GET("/v1/checkpoint", s.getCheckpoint)
	r.GET("/v1/consistency", s.getConsistency)
	r.GET("/v1/models/shadow", s.getShadow)

	// The web console, with its own sessions and error pages.
	if s.deps.Console != nil {
		r.Any("/console/*path", gin.WrapH(s.deps.Console))
	}
	// The TAXII 2.1 server, with its own media types and error messages.
	if s.deps.TAXII != nil {
		r.Any("/taxii2/*path", gin.WrapH(s.deps.TAXII))
	}
	return r
}

// observe records the request latency by route pattern and logs the
// request with slog (debug for successes, info for client errors, warn for
// server errors), replacing gin's default logger.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	d := time.Since(start)
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	code := c.Writer.Status()
	s.m.RequestDuration.WithLabelValues(route, c.Request.Method, strconv.Itoa(code)).Observe(d.Seconds())
	level := slog.LevelDebug
	switch {
	case code >= 500:
		level = slog.LevelWarn
	case code >= 400:
		level = slog.LevelInfo
	}
	s.log.Log(c.Request.Context(), level, "http request",
		"method", c.Request.Method, "route", route, "path", c.Request.URL.Path,
		"status", code, "duration", d, "bytes_in", c.Request.ContentLength,
		"remote", c.ClientIP())
}

// recover turns a handler panic into a logged 500 instead of a dropped
// connection; a panic is a bug, never error handling.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "route", c.FullPath(), "panic", v)
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(http.StatusInternalServerError, newErrorBody(errorf(gateway.CodeInternal, "internal error")))
			}
		}
	}()
	c.Next()
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readiness is the body of /readyz.
type readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// readyz is ready when the store is open and has not failed, the ledger
// answered within ledger.stale_after, anchoring is not rejected and ingest
// is not pushing back. Each check says "ok" or why not.
func (s *Server) readyz(c *gin.Context) {
	r := readiness{Ready: true, Checks: map[string]string{}}
	check := func(name, problem string) {
		if problem == "" {
			r.Checks[name] = "ok"
			return
		}
		r.Ready = false
		r.Checks[name] = problem
	}
	storeProblem := ""
	if _, err := s.deps.Log.Checkpoint(c.Request.Context()); err != nil {
		storeProblem = "store unavailable: " + err.Error()
	} else if msg := s.storeFailed.Load(); msg != nil {
		storeProblem = "store failed: " + *msg
	} else if wp, ok := s.deps.Log.(interface{ WriteProblem() string }); ok {
		// A store that refuses writes for now (a full disk) is not ready;
		// it says so until it accepts them again.
		if p := wp.WriteProblem(); p != "" {
			storeProblem = "store refuses writes: " + p
		}
	}
	check("store", storeProblem)

	now := s.now()
	ledgerProblem := ""
	if s.deps.LedgerPing != nil {
		last := time.Unix(0, s.ledgerOK.Load())
		if s.ledgerOK.Load() == 0 {
			last = s.started
		}
		if now.Sub(last) > s.cfg.LedgerStaleAfter {
			ledgerProblem = "no successful ledger contact for " + now.Sub(last).Round(time.Second).String()
			if e := s.ledgerErr.Load(); e != nil {
				ledgerProblem += ": " + *e
			}
		}
	}
	check("ledger", ledgerProblem)

	st := s.prog.Status()
	anchorProblem := ""
	if st.Rejected {
		anchorProblem = "ledger rejects the oldest pending batch: " + st.LastError
	}
	check("anchoring", anchorProblem)

	_, why := s.prog.Busy(c.Request.Context())
	check("backpressure", why)

	status := http.StatusOK
	if !r.Ready {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, r)
}

func (s *Server) registerGauges() error {
	gauges := []struct {
		name, help string
		f          func() float64
	}{
		{"store_events", "Events durably stored (the Merkle tree size).", func() float64 {
			return float64(s.size(s.bg()))
		}},
		{"anchored_events", "Events in batches anchored on the ledger (the anchored tree size).", func() float64 {
			a := s.prog.Status().TreeSize
			return float64(a)
		}},
		{"anchor_lag_events", "Events stored but not yet anchored.", func() float64 {
			a := s.prog.Status().TreeSize
			if sz := s.size(s.bg()); sz > a {
				return float64(sz - a)
			}
			return 0
		}},
		{"anchor_lag_seconds", "Age of the oldest stored event not yet anchored (0 when all are anchored).", func() float64 {
			lag := s.lag()
			return lag.Seconds()
		}},
		{"anchor_pending_batches", "Sealed batches waiting for the ledger.", func() float64 {
			return float64(s.prog.Status().Pending)
		}},
		{"anchor_rejected", "1 while the ledger permanently rejects the oldest pending batch.", func() float64 {
			if s.prog.Status().Rejected {
				return 1
			}
			return 0
		}},
	}
	for _, g := range gauges {
		if err := s.m.GaugeFunc(g.name, g.help, g.f); err != nil {
			return err
		}
	}
	return nil
}
