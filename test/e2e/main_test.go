// Package e2e holds ledgerguard's end-to-end tests. They run against the
// real native Fabric network that scripts/test-e2e.sh starts (make test), in
// the state folder named by LEDGERGUARD_RUN_DIR, and never against mocks.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// env describes the network under test; TestMain fills it once.
var env struct {
	root   string // repository root
	runDir string // network state folder (connection profiles, crypto)
}

func TestMain(m *testing.M) {
	if os.Getenv("LEDGERGUARD_E2E") != "1" {
		fmt.Println("e2e: not run: these tests need the network that 'make test' starts (it sets LEDGERGUARD_E2E=1)")
		os.Exit(0)
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	env.root = root
	env.runDir = os.Getenv("LEDGERGUARD_RUN_DIR")
	if env.runDir == "" {
		env.runDir = filepath.Join(root, "network", "run")
	}
	if _, err := os.Stat(filepath.Join(env.runDir, "connection-org1.json")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the network is not up:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "network", "configtx.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root not found above the working directory")
		}
		dir = parent
	}
}
