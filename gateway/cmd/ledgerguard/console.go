package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/anchor"
	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/console"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// consoleWiring is what the console reads from the running gateway. The
// alerter and the HTTP API are created after the console (the API serves
// it), so they are read through functions at request time.
type consoleWiring struct {
	st      *store.Store
	anch    *anchor.Anchorer
	alerts  func() uint64             // alerts raised since start (0 without detection)
	models  func() []gateway.ModelRef // nil without detection
	handler func() http.Handler       // the HTTP API, for readiness
	msp     string
}

// newConsole dials the console's own ledger identity and builds the
// console; close releases the connection.
func newConsole(ctx context.Context, cfg config.Config, cc console.Config, w consoleWiring, log *slog.Logger) (*console.Console, func(), error) {
	cc.DefaultSecure(cfg.HTTP.TLS.Enabled())
	prof := cc.Profile
	if prof == "" {
		prof = cfg.Ledger.Profile
	}
	profile, err := fabric.LoadProfile(prof)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("console.profile: %w", err)}
	}
	opts := []fabric.Option{fabric.WithTimeouts(fabric.Timeouts{
		Evaluate: cfg.Ledger.Timeouts.Evaluate, Endorse: cfg.Ledger.Timeouts.Endorse,
		Submit: cfg.Ledger.Timeouts.Submit, CommitStatus: cfg.Ledger.Timeouts.CommitStatus,
	})}
	if cc.Identity != "" {
		opts = append(opts, fabric.WithIdentity(cc.Identity))
	}
	client, err := fabric.Dial(ctx, profile, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("console: dial Fabric as %q: %w", cc.Identity, err)
	}
	ledger := fabric.NewLedger(client, cfg.Ledger.Channel, cfg.Ledger.Chaincode)
	evsrc := fabric.NewEvidenceSource(client, cfg.Ledger.Channel, cfg.Ledger.Chaincode)
	// Reports are signed by the console's ledger identity, as ledgerguard
	// report signs with its --identity.
	signer, err := profileSigner(profile, cc.Identity)
	if err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("console: report signing identity %q: %w", cc.Identity, err)
	}
	c, err := console.New(cc, console.Deps{
		Ledger: ledger,
		Blocks: func(ctx context.Context, txID string) (uint64, error) {
			_, block, _, err := evsrc.Transaction(ctx, txID)
			return block, err
		},
		Store: w.st,
		Stats: func() console.Sample {
			st := w.anch.Status()
			s := console.Sample{At: time.Now(), Stored: w.st.Size(), Anchored: st.TreeSize, Alerts: w.alerts(), Pending: st.Pending}
			if !st.OldestUnanchored.IsZero() {
				s.Lag = time.Since(st.OldestUnanchored)
			}
			return s
		},
		Ready: func(ctx context.Context) (bool, map[string]string) {
			// The same answer as GET /readyz, from the API itself.
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/readyz", nil)
			w.handler().ServeHTTP(rec, req)
			var r struct {
				Ready  bool              `json:"ready"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				return false, map[string]string{"readyz": err.Error()}
			}
			return r.Ready, r.Checks
		},
		Reports: &console.Reports{
			Signer: signer, Channel: cfg.Ledger.Channel, Chaincode: cfg.Ledger.Chaincode,
			Evidence: func(ctx context.Context, out io.Writer, from, to time.Time) error {
				_, err := evidence.Export(ctx, out, w.st, evsrc, evidence.Request{
					GatewayMSP: w.msp, GatewayID: cfg.GatewayID, Channel: cfg.Ledger.Channel, Chaincode: cfg.Ledger.Chaincode,
					From: from, To: to, Gzip: true,
				})
				return err
			},
		},
		Models:      w.models,
		Online:      evsrc,
		Credentials: cfg.Credentials,
		GatewayMSP:  w.msp,
		GatewayID:   cfg.GatewayID,
		Logger:      log,
	})
	if err != nil {
		_ = client.Close()
		return nil, nil, err
	}
	log.Info("console enabled", "path", console.Prefix+"/", "ledger_identity", client.MSPID()+" "+cc.Identity)
	return c, func() { _ = client.Close() }, nil
}

// consoleHandler is the console as the API mounts it (nil: none).
func consoleHandler(c *console.Console) http.Handler {
	if c == nil {
		return nil
	}
	return c
}
