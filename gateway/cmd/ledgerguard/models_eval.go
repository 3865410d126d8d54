package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway/modeleval"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

func newModelsEvalCmd() *cobra.Command {
	var (
		modelsDir, dataDir, lib, only string
		asJSON                        bool
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "evaluate the committed models on their test splits through the gateway's scorer",
		Long: `eval loads every model under --models (the latest version of each), replays
each of its evaluation splits (listed in its manifest) as gateway events
through the same feature engine and ONNX Runtime scorer the gateway serves
with, and prints accuracy, macro-F1, ROC AUC, FPR and per-class figures.
Datasets are read from --data (default $LEDGERGUARD_DATA_DIR, else
../shared/data beside the repository).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if err := onnx.Init(lib); err != nil {
				return err
			}
			if _, err := os.Stat(dataDir); err != nil {
				return fmt.Errorf("models eval: data directory: %w (set --data or %s)", err, envDataDir)
			}
			reg, err := onnx.NewRegistry(ctx, modelsDir, onnx.WithMaxWait(-1))
			if err != nil {
				return err
			}
			defer reg.Close()
			var results []modeleval.Result
			for _, m := range reg.Models() {
				if only != "" && m.Manifest().Name != only {
					continue
				}
				for _, sp := range m.Manifest().Evaluation {
					r, err := modeleval.Split(ctx, m, sp, dataDir)
					if err != nil {
						return fmt.Errorf("models eval %s %s: %w", m.Manifest().Name, sp.Split, err)
					}
					results = append(results, r)
				}
			}
			if asJSON {
				return modeleval.WriteJSON(cmd.OutOrStdout(), results)
			}
			modeleval.Print(cmd.OutOrStdout(), results)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelsDir, "models", filepath.Join(repoRoot(), "models"), "models directory")
	f.StringVar(&dataDir, "data", defaultDataDir(), "data directory")
	f.StringVar(&lib, "lib", onnx.LibraryPath(repoRoot()), "ONNX Runtime shared library (env "+onnx.EnvLibrary+")")
	f.StringVar(&only, "model", "", "evaluate only this model")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per model and split")
	return cmd
}
