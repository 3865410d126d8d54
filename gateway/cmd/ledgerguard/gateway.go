package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/alerting"
	"github.com/ledgerguard/ledgerguard/gateway/anchor"
	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/console"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/httpapi"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/metrics"
	"github.com/ledgerguard/ledgerguard/gateway/modelset"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/pseudonym"
	"github.com/ledgerguard/ledgerguard/gateway/respond"
	"github.com/ledgerguard/ledgerguard/gateway/shadow"
	"github.com/ledgerguard/ledgerguard/gateway/store"
	"github.com/ledgerguard/ledgerguard/gateway/syslogd"
	"github.com/ledgerguard/ledgerguard/gateway/taxii"
)

// recentLeavesMax bounds the store's recent-leaves ring's records
// (store.recent_leaves_bytes bounds their bytes), which only matters for
// small events.
const recentLeavesMax = 16 * alerting.LeavesPerRead

func newGatewayCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "run the gateway: ingest (HEC, _bulk, OTLP, NDJSON, syslog), store, anchor on the ledger, serve proofs",
		Long: `gateway runs the ledgerguard gateway from one YAML configuration file
(see gateway/config/example.yaml; LEDGERGUARD_* variables override it). It
opens the store, dials Fabric as the configured identity, anchors sealed
batches, and serves the HTTP API and the syslog listener until SIGINT or
SIGTERM, then stops accepting, lets in-flight requests finish and closes
the store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runGateway(ctx, cfg, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "gateway configuration file (YAML), e.g. network/gateway-dev.yaml")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func runGateway(ctx context.Context, cfg config.Config, logOut io.Writer) (err error) {
	log := newLogger(cfg.Log, logOut)
	slog.SetDefault(log)
	memLimit, memSource, err := cfg.MemoryLimit.Apply(os.Getenv) // GOMEMLIMIT, if set, wins
	if err != nil {
		return usageError{err}
	}
	log.Info("memory limit", "bytes", memLimit, "source", memSource)
	cfg.Limits = cfg.Limits.WithMemoryLimit(memLimit)
	cfg.Store = cfg.Store.WithMemoryLimit(memLimit)
	if cfg.Store.OverMemoryShare(memLimit) {
		log.Warn("store.recent_leaves_bytes is over an eighth of the memory limit: the ring's records are live heap, and the rest of the gateway gets less",
			"recent_leaves_bytes", cfg.Store.RecentLeavesBytes, "memory_limit", memLimit)
	}
	// The responder decodes its own section (the configuration does not
	// depend on it); a bad one is a configuration error like any other.
	respondCfg, err := respond.DecodeConfig(cfg.Respond.Decode, cfg.Respond.Dir)
	if err != nil {
		return usageError{&config.ValidationError{Errors: []*config.FieldError{{Field: "respond", Msg: err.Error()}}}}
	}
	consoleCfg, err := console.DecodeConfig(cfg.Console.Decode, cfg.Console.Dir)
	if err != nil {
		return usageError{&config.ValidationError{Errors: []*config.FieldError{{Field: "console", Msg: err.Error()}}}}
	}
	intelCfg, err := decodeIntel(cfg)
	if err != nil {
		return err
	}
	taxiiCfg, err := taxii.DecodeConfig(cfg.TAXII.Decode)
	if err != nil {
		return usageError{&config.ValidationError{Errors: []*config.FieldError{{Field: "taxii", Msg: err.Error()}}}}
	}
	if taxiiCfg.Enabled && !intelCfg.Enabled {
		return usageError{&config.ValidationError{Errors: []*config.FieldError{{Field: "taxii.enabled", Msg: "TAXII serves the intel catalog: enable intel too"}}}}
	}

	profile, err := fabric.LoadProfile(cfg.Ledger.Profile)
	if err != nil {
		return usageError{fmt.Errorf("ledger.profile: %w", err)}
	}
	client, err := fabric.Dial(ctx, profile, fabric.WithIdentity(cfg.Ledger.Identity), fabric.WithTimeouts(fabric.Timeouts{
		Evaluate: cfg.Ledger.Timeouts.Evaluate, Endorse: cfg.Ledger.Timeouts.Endorse,
		Submit: cfg.Ledger.Timeouts.Submit, CommitStatus: cfg.Ledger.Timeouts.CommitStatus,
	}))
	if err != nil {
		return fmt.Errorf("dial Fabric as %q: %w", cfg.Ledger.Identity, err)
	}
	defer client.Close()

	ledger := fabric.NewLedger(client, cfg.Ledger.Channel, cfg.Ledger.Chaincode)
	var iw *intelWiring
	if intelCfg.Enabled {
		if iw, err = newIntel(intelCfg, cfg.Store.Dir, client.MSPID(), ledger, log); err != nil {
			return err
		}
		defer iw.close()
	}
	var models *onnx.Registry
	var detModels *modelset.Set
	var shadowModels *shadow.Shadow
	var drift *shadow.Drift // input drift of the served and shadow models
	storeOpts := []store.Option{
		store.WithGateway(client.MSPID(), cfg.GatewayID),
		store.WithBatchMaxEvents(cfg.Store.BatchMaxEvents),
		store.WithBatchMaxWait(cfg.Store.BatchMaxWait),
		store.WithMinFreeBytes(cfg.Store.MinFreeBytes),
		store.WithAckAfterSegment(cfg.Store.AckAfterSegment),
		// Batches due by age wait while one is being anchored; the
		// anchorer seals the open batch as soon as it is idle
		// (anchor.WithSealWhenIdle below), so batches follow the ledger's
		// latency instead of queueing behind it.
		store.WithAgeSealWhenAnchored(true),
		// The alerter scores each batch soon after it is sealed, while
		// ingest goes on: the store keeps the latest group commits'
		// records in memory (its own frames, shared with the leaves it
		// hands out, nothing copied) within store.recent_leaves_bytes,
		// so the alerter seldom reads them back from the segment files.
		store.WithRecentLeaves(recentLeavesMax, int(min(cfg.Store.RecentLeavesBytes, math.MaxInt))),
	}
	if cfg.Detection.Enabled {
		drift = shadow.NewDrift()
		if detModels, err = openModels(ctx, cfg.Detection, ledger, drift, log); err != nil {
			return err
		}
		models = detModels.Registry()
		defer models.Close()
		if cfg.Detection.Strict {
			// Registered but not yet approved versions, newer than the
			// served ones, score beside them without alerting.
			if shadowModels, err = shadow.Open(ctx, cfg.Detection.ModelsDir, models, ledger, log, onnx.WithFeatureObserver(drift.Observe)); err != nil {
				return fmt.Errorf("detection: shadow models: %w", err)
			}
			defer shadowModels.Close()
		}
		// Each sealed batch lists the models in force, so the ledger can
		// check that an alert's detector scored its batch.
		storeOpts = append(storeOpts, store.WithModels(func() []gateway.ModelRef { return modelset.Refs(models) }))
	}
	m := metrics.New()
	storeOpts = append(storeOpts, store.WithCommitObserver(func(t store.CommitTiming) {
		m.ObserveCommit(t.Queued, t.Events, t.Prepare, t.Segment, t.Index, t.Total)
	}), store.WithLeavesObserver(func(r store.LeavesRead) {
		m.ObserveLeavesRead(r.Events, r.Behind, r.FromMemory)
	}))
	st, err := store.Open(ctx, cfg.Store.Dir, storeOpts...)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	storeClosed := false
	defer func() {
		if !storeClosed {
			_ = st.Close()
		}
	}()

	anch, err := anchor.New(st, ledger, anchor.WithLogger(log), anchor.WithBackpressure(cfg.AnchorBackpressure(), st),
		anchor.WithSealWhenIdle(func(ctx context.Context) (bool, error) {
			_, sealed, err := st.Seal(ctx)
			return sealed, err
		}, 20*time.Millisecond))
	if err != nil {
		return err
	}
	if iw != nil {
		if err := iw.metrics(m); err != nil {
			return err
		}
	}
	if detModels != nil {
		if err := m.ModelsServed(servedMetrics(detModels)); err != nil {
			return err
		}
	}
	if shadowModels != nil {
		if err := m.ShadowModels(shadowMetrics(shadowModels)); err != nil {
			return err
		}
	}
	if drift != nil {
		if err := m.ModelDrift(driftMetrics(drift)); err != nil {
			return err
		}
	}
	var api *httpapi.Server
	var alerter *alerting.Alerter
	var con *console.Console
	if consoleCfg.Enabled {
		w := consoleWiring{st: st, anch: anch, msp: client.MSPID(), handler: func() http.Handler { return api.Handler() },
			alerts: func() uint64 {
				if alerter == nil {
					return 0
				}
				return alerter.Status().Raised
			}}
		if detModels != nil {
			w.models = detModels.Served
		}
		var closeConsole func()
		if con, closeConsole, err = newConsole(ctx, cfg, consoleCfg, w, log); err != nil {
			return err
		}
		defer closeConsole()
	}
	var taxiiHandler http.Handler
	if taxiiCfg.Enabled {
		pub, closePub, err := taxiiPublisher(ctx, iw, profile, cfg, client.MSPID(), log)
		if err != nil {
			return err
		}
		defer closePub()
		if taxiiHandler, err = newTAXII(taxiiCfg, iw.catalog, pub, cfg.Credentials, client.MSPID(), log); err != nil {
			return err
		}
	}
	api, err = httpapi.New(cfg.HTTPAPI(), httpapi.Deps{
		Log: st, Batches: st, Progress: anch, Metrics: m, Logger: log, Console: consoleHandler(con), TAXII: taxiiHandler,
		LedgerPing: func(ctx context.Context) error {
			_, err := ledger.Ping(ctx)
			return err
		},
		Shadow: shadowReport(shadowModels),
		Drift:  driftReport(drift),
	})
	if err != nil {
		return err
	}
	var storeAnchored uint64
	if last, ok, err := anch.Recover(ctx, st.Size(), st); err != nil {
		return err
	} else if ok {
		storeAnchored = last.TreeSizeAfter
	}
	if err := checkLedgerAgrees(ctx, ledger, client.MSPID(), cfg.GatewayID, st.Size(), storeAnchored, log); err != nil {
		return err
	}
	if models != nil || iw != nil {
		var det detect.Detector
		var served func() []gateway.ModelRef
		if models != nil {
			det, served = models, func() []gateway.ModelRef { return modelset.Refs(models) }
			if shadowModels != nil {
				det = shadowModels.Wrap(models)
			}
		}
		if iw != nil {
			det = detect.Join(det, iw.detector)
		}
		if alerter, err = newAlerter(cfg, client.MSPID(), st, det, served, ledger, log); err != nil {
			return err
		}
		anch.Subscribe(func(gateway.Batch, gateway.Anchor) { alerter.Wake() })
		if err := m.GaugeFunc("alerting_watermark_write_failing", "1 while writing the alerter's watermark file fails (it retries; alerting goes on).", func() float64 {
			if alerter.Status().WatermarkError != "" {
				return 1
			}
			return 0
		}); err != nil {
			return err
		}
		// How far detection has got: every event below this position was
		// scored and its alerts committed (make bench waits for it).
		if err := m.GaugeFunc("alerting_position_events", "Events scored by detection with their alerts committed (tree size).", func() float64 {
			return float64(alerter.Status().Position)
		}); err != nil {
			return err
		}
		// Concurrent alert transactions: fewer than alerting.MaxInFlight
		// for a while after some conflicted (a merging dedup rule) or
		// timed out (an overloaded ledger).
		if err := m.GaugeFunc("alerting_tx_in_flight", "RaiseAlerts transactions the alerter keeps in flight per step now.", func() float64 {
			return float64(alerter.Status().InFlight)
		}); err != nil {
			return err
		}
		if err := m.GaugeFunc("alerting_tx_conflicts", "RaiseAlerts transactions that hit a read conflict with another of the alerter's and were committed again.", func() float64 {
			return float64(alerter.Status().Conflicts)
		}); err != nil {
			return err
		}
	}
	if err := m.GaugeFunc("store_writes_refused", "1 while the store refuses writes (free space below store.min_free_bytes, or reopening after a failed write).", func() float64 {
		if st.WriteProblem() != "" {
			return 1
		}
		return 0
	}); err != nil {
		return err
	}

	srv := api.NewHTTPServer()
	httpLn, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}

	var sys *syslogd.Server
	var sysLn net.Listener
	if cfg.Syslog.Enabled {
		if sys, sysLn, err = newSyslog(cfg.Syslog, st, anch, m, log); err != nil {
			_ = httpLn.Close()
			return err
		}
	}

	var pprofServe func(context.Context) error
	if cfg.Debug.PprofListen != "" {
		if pprofServe, err = servePprof(cfg.Debug.PprofListen, log); err != nil {
			_ = httpLn.Close()
			if sysLn != nil {
				_ = sysLn.Close()
			}
			return err
		}
	}

	bg, cancelBG := context.WithCancel(context.Background())
	defer cancelBG()
	errc := make(chan error, 8)
	var wg sync.WaitGroup
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	run("anchor", func() error {
		if err := anch.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
	run("api", func() error { return api.Run(bg) })
	if con != nil {
		run("console", func() error { return con.Run(bg) })
	}
	if respondCfg.Enabled {
		var vault *pseudonym.Vault
		if alerter != nil {
			vault = alerter.Vault()
		}
		r, err := newResponder(respondCfg, client, cfg.Ledger.Channel, cfg.Ledger.Chaincode, vault, log)
		if err != nil {
			// The workers already running use the store the deferred
			// Close shuts: stop them first.
			cancelBG()
			wg.Wait()
			_ = httpLn.Close()
			return err
		}
		run("respond", func() error {
			if err := r.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	if alerter != nil {
		run("alerting", func() error {
			if err := alerter.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	if detModels != nil {
		run("models", func() error {
			detModels.Run(bg)
			return nil
		})
	}
	if shadowModels != nil {
		run("shadow", func() error {
			shadowModels.Run(bg, cfg.Detection.LedgerCheckInterval)
			return nil
		})
	}
	if iw != nil {
		iw.run(bg, run, log)
	}
	if pprofServe != nil {
		run("pprof", func() error { return pprofServe(bg) })
	}
	run("http", func() error { return api.Serve(srv, httpLn) })
	if sys != nil {
		run("syslog", func() error {
			if err := sys.Serve(sysLn); !errors.Is(err, syslogd.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	log.Info("gateway started", "http", httpLn.Addr().String(), "tls", api.TLSEnabled(),
		"syslog", cfg.Syslog.Enabled, "store", cfg.Store.Dir, "msp", client.MSPID(), "gateway_id", cfg.GatewayID,
		"tree_size", st.Size(), "mode", cfg.Mode)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", api.ShutdownTimeout())
	case runErr = <-errc:
		log.Error("gateway component failed, shutting down", "err", runErr)
	}

	// Stop accepting and let in-flight requests and syslog batches reach
	// the store, then stop the background loops, then close the store.
	shutCtx, cancel := context.WithTimeout(context.Background(), api.ShutdownTimeout())
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown incomplete", "err", err)
	}
	if sys != nil {
		if err := sys.Shutdown(shutCtx); err != nil {
			log.Warn("syslog shutdown incomplete", "err", err)
		}
	}
	cancelBG()
	wg.Wait()
	storeClosed = true
	if err := st.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close store: %w", err)
	}
	log.Info("gateway stopped")
	return runErr
}

func newSyslog(c config.Syslog, st *store.Store, progress gateway.Progress, m *metrics.Metrics, log *slog.Logger) (*syslogd.Server, net.Listener, error) {
	sc := syslogd.Config{
		Meta:            ingest.Meta{Source: c.Source, Sourcetype: c.Sourcetype, Index: c.Index},
		MaxMessageBytes: c.MaxMessageBytes,
		MaxConnections:  c.MaxConnections,
		IdleTimeout:     c.IdleTimeout,
		FlushEvents:     c.FlushEvents,
		FlushInterval:   c.FlushInterval,

		MaxConnectionsPerSource: c.MaxConnectionsPerSource,
		EvictIdleAfter:          c.EvictIdleAfter,
	}
	for _, n := range c.AllowedNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, nil, usageError{fmt.Errorf("syslog.allowed_networks: %w", err)}
		}
		sc.Allowed = append(sc.Allowed, p.Masked())
	}
	if c.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, nil, usageError{fmt.Errorf("syslog.tls: %w", err)}
		}
		sc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if c.TLS.ClientCAFile != "" {
			pem, err := os.ReadFile(c.TLS.ClientCAFile)
			if err != nil {
				return nil, nil, usageError{fmt.Errorf("syslog.tls.client_ca_file: %w", err)}
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, usageError{fmt.Errorf("syslog.tls.client_ca_file: no PEM certificate in %s", c.TLS.ClientCAFile)}
			}
			sc.TLS.ClientCAs = pool
			sc.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	sys, err := syslogd.New(sc, syslogd.Deps{Log: st, Progress: progress, Observer: m, Logger: log, Now: time.Now})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("syslog.listen: %w", err)
	}
	if sc.TLS != nil {
		ln = tls.NewListener(ln, sc.TLS)
	}
	return sys, ln, nil
}

// newAlerter builds the alerter; its watermark lives beside the store.
func newAlerter(cfg config.Config, msp string, st *store.Store, det detect.Detector, served func() []gateway.ModelRef, ledger *fabric.Ledger, log *slog.Logger) (*alerting.Alerter, error) {
	ac := alerting.Config{MSP: msp, GatewayID: cfg.GatewayID, StateDir: filepath.Join(cfg.Store.Dir, "alerting"), Logger: log,
		Served: served}
	if cfg.Detection.PseudonymKeyEnv != "" {
		if key := os.Getenv(cfg.Detection.PseudonymKeyEnv); key != "" {
			if err := os.MkdirAll(ac.StateDir, 0o750); err != nil {
				return nil, err
			}
			v, err := pseudonym.OpenVault(filepath.Join(ac.StateDir, "pseudonyms.jsonl"), []byte(key))
			if err != nil {
				return nil, usageError{fmt.Errorf("%s: %w", cfg.Detection.PseudonymKeyEnv, err)}
			}
			ac.Vault = v
		}
	}
	return alerting.New(ac, st, det, ledger)
}

// checkLedgerAgrees refuses to start when the ledger's record of this
// gateway's log cannot belong to this store. An unreachable ledger is not
// a reason to refuse: the gateway must keep accepting during an outage.
func checkLedgerAgrees(ctx context.Context, ledger *fabric.Ledger, msp, gatewayID string, storeSize, storeAnchored uint64, log *slog.Logger) error {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	size, err := ledger.AnchoredSize(cctx, msp, gatewayID)
	if err != nil {
		log.Warn("could not compare the ledger's checkpoint with the store; anchoring will check it", "err", err)
		return nil
	}
	return anchor.CheckLedger(msp+"/"+gatewayID, size, storeSize, storeAnchored)
}
