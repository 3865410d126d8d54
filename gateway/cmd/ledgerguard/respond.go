package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"

	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
	"github.com/ledgerguard/ledgerguard/gateway/connector/notify"
	"github.com/ledgerguard/ledgerguard/gateway/connector/rest"
	"github.com/ledgerguard/ledgerguard/gateway/connector/webhook"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/pseudonym"
	"github.com/ledgerguard/ledgerguard/gateway/respond"
)

// loadRespondConfig reads the `respond:` key of a YAML file (the gateway's
// configuration file or a file holding only that key) through the same
// path as the gateway (config.Section.Decode, then respond.DecodeConfig):
// unknown keys inside the section are refused, relative paths resolve
// against the file's folder, then defaults apply and the result is
// validated. The section is treated as enabled whatever its `enabled:`
// says, as this command exists to run the responder.
func loadRespondConfig(path string) (respond.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return respond.Config{}, err
	}
	var top struct {
		Respond config.Section `yaml:"respond"`
	}
	if err := yaml.Unmarshal(data, &top); err != nil {
		return respond.Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if !top.Respond.Present() {
		return respond.Config{}, fmt.Errorf("%s: no respond: key", path)
	}
	cfg, err := respond.DecodeConfig(func(v any) error {
		if err := top.Respond.Decode(v); err != nil {
			return fmt.Errorf("respond: %w", err)
		}
		v.(*respond.Config).Enabled = true
		return nil
	}, filepath.Dir(path))
	if err != nil {
		return respond.Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// newResponder wires a responder: its connectors (unmasking pseudonyms
// when vault is not nil: actions see the raw values through the local
// vault, the shared ledger never does), its durable event checkpoint and
// the ledger as client c on channel and chaincode.
// `ledgerguard gateway` and `ledgerguard respond` both call it.
func newResponder(rc respond.Config, c *fabric.Client, channel, chaincode string, vault *pseudonym.Vault, log *slog.Logger) (*respond.Responder, error) {
	conns, err := buildConnectors(rc, log)
	if err != nil {
		return nil, usageError{err}
	}
	if vault != nil {
		for name, conn := range conns {
			conns[name] = pseudonym.Unmask(conn, vault)
		}
	}
	for _, f := range []string{rc.CheckpointFile, rc.JournalFile} {
		if err := os.MkdirAll(filepath.Dir(f), 0o750); err != nil {
			return nil, fmt.Errorf("respond: %w", err)
		}
	}
	cp, err := respond.OpenCheckpoint(rc.CheckpointFile, nil)
	if err != nil {
		return nil, fmt.Errorf("respond: checkpoint file %s: %w", rc.CheckpointFile, err)
	}
	ledger := fabric.NewLedger(c, channel, chaincode)
	events := fabric.NewEvents(ledger, cp, rc.StartBlock)
	r, err := respond.New(rc, c.MSPID(), ledger, events, conns, respond.WithLogger(log))
	if err != nil {
		return nil, usageError{err}
	}
	block, tx := events.Position()
	log.Info("responder starting", "msp", c.MSPID(), "channel", channel, "chaincode", chaincode,
		"checkpoint_block", block, "checkpoint_tx", tx, "actions", len(conns))
	return r, nil
}

// buildConnectors builds one connector per configured action type. It is
// the only place connectors are wired; `ledgerguard gateway` calls it too.
func buildConnectors(cfg respond.Config, logger *slog.Logger) (map[string]connector.Connector, error) {
	names := make([]string, 0, len(cfg.Actions))
	for n := range cfg.Actions {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]connector.Connector, len(names))
	for _, name := range names {
		c := cfg.Actions[name]
		var (
			conn connector.Connector
			err  error
		)
		switch {
		case c.Webhook != nil:
			conn, err = webhook.New(*c.Webhook)
		case c.REST != nil:
			conn, err = rest.New(name, *c.REST)
		case c.Notify != nil:
			conn, err = notify.New(*c.Notify, notify.WithLogger(logger))
		default:
			err = fmt.Errorf("no connector set")
		}
		if err != nil {
			return nil, fmt.Errorf("respond.actions.%s: %w", name, err)
		}
		out[name] = conn
	}
	return out, nil
}

func newRespondCmd() *cobra.Command {
	var lf ledgerFlags
	var configPath, logLevel string
	cmd := &cobra.Command{
		Use:   "respond --config FILE",
		Short: "run only the responder: execute the ledger's response requests and record their outcomes",
		Long: `respond reads the respond: section of FILE (the gateway configuration, or a
file holding only that section), follows the chaincode's response events
from its checkpoint, executes its organisation's runnable responses through
the configured connectors and records each outcome on the ledger. It runs
until interrupted (SIGINT or SIGTERM), then stops at once: work in flight is
resumed by the next start from the checkpoint and the journal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usageError{errors.New("--config is required")}
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError{fmt.Errorf("--log-level: %w", err)}
			}
			logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cfg, err := loadRespondConfig(configPath)
			if err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c, err := lf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			r, err := newResponder(cfg, c, lf.channel, lf.chaincode, nil, logger)
			if err != nil {
				return err
			}
			return r.Run(ctx)
		},
	}
	lf.register(cmd)
	_ = cmd.Flags().Lookup("identity").Value.Set("gateway")
	cmd.Flags().Lookup("identity").DefValue = "gateway"
	_ = cmd.Flags().MarkHidden("timeout") // a long-running command; stages keep their own timeouts
	cmd.Flags().StringVar(&configPath, "config", "", "YAML file with a respond: section (required)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
