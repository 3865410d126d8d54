package main

import (
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// TestLedgerStageDefaults: the config validates ledger.timeouts as the
// Fabric adapter applies them, so its copy of the adapter's defaults must
// be the adapter's.
func TestLedgerStageDefaults(t *testing.T) {
	got, want := config.LedgerStageDefaults, fabric.DefaultTimeouts
	if got.Evaluate != want.Evaluate || got.Endorse != want.Endorse || got.Submit != want.Submit || got.CommitStatus != want.CommitStatus {
		t.Errorf("config.LedgerStageDefaults = %+v, fabric.DefaultTimeouts = %+v", got, want)
	}
}
