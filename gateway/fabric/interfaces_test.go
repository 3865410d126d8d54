package fabric

import (
	"github.com/ledgerguard/ledgerguard/gateway/alerting"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

// Compile-time checks that Ledger serves the pipelines that need the ledger.
var (
	_ alerting.Raiser   = (*Ledger)(nil)
	_ provenance.Ledger = (*Ledger)(nil)
)
