// Package replay turns rows of the public datasets into the ingest
// envelopes that the end-to-end tests, the benchmarks and the demo send to
// a gateway. It reads rows through the dataset mappings in the models'
// manifests (gateway/features.ReadRows), so a replayed NSL-KDD row has
// exactly the fields the model was trained and evaluated on.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ledgerguard/ledgerguard/gateway/features"
)

// errStop ends a read early; it never escapes this package.
var errStop = errors.New("stop")

// NSLKDD reads KDDTest+ under dataDir with the nsl-kdd mapping of
// models/nsl-kdd-flow/1.0.0 (under repoRoot) and calls fn, in file order,
// with each row's raw label (normal, neptune, satan, ...) and a Splunk HEC
// envelope {"sourcetype", "event"} whose event holds the row's kdd.* fields
// and ECS event.category "network", so the gateway classifies it as a flow.
// fn returns false to stop.
func NSLKDD(ctx context.Context, repoRoot, dataDir string, fn func(rawLabel string, env map[string]any) bool) error {
	b, err := os.ReadFile(filepath.Join(repoRoot, "models", "nsl-kdd-flow", "1.0.0", "manifest.json"))
	if err != nil {
		return err
	}
	var mf struct {
		Datasets map[string]features.Mapping `json:"datasets"`
	}
	if err := json.Unmarshal(b, &mf); err != nil {
		return fmt.Errorf("nsl-kdd manifest: %w", err)
	}
	m, ok := mf.Datasets["nsl-kdd"]
	if !ok {
		return errors.New("the nsl-kdd-flow manifest has no nsl-kdd dataset mapping")
	}
	path := filepath.Join(dataDir, "nsl-kdd", "KDDTest+.txt")
	r, err := features.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	err = features.ReadRows(ctx, r, path, m, "", nil, func(row features.Row) error {
		ev := make(map[string]any, len(row.Event.Fields)+1)
		for k, v := range row.Event.Fields {
			ev[k] = v
		}
		ev["event.category"] = "network"
		if !fn(row.RawLabel, map[string]any{"sourcetype": row.Event.Sourcetype, "event": ev}) {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}
