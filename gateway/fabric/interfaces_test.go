package fabric

import (
	"github.com/ledgerguard/ledgerguard/gateway/alerting"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
	"github.com/ledgerguard/ledgerguard/gateway/respond"
)

// Compile-time checks that Ledger serves the pipelines that need the ledger.
var (
	_ alerting.Raiser   = (*Ledger)(nil)
	_ provenance.Ledger = (*Ledger)(nil)
	// The responder's ledger is the Ledger itself: its identity must be a
	// gateway identity of the responder's organisation (only it may
	// record outcomes).
	_ respond.Ledger      = (*Ledger)(nil)
	_ respond.EventSource = (*Events)(nil)
)
