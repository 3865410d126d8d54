package anchor

import "fmt"

// MismatchError says the ledger's record of a gateway's log and the local
// store disagree in a way anchoring cannot repair: the store is not the log
// the ledger has anchored (a new store under a reused gateway id, an old
// backup), or the ledger lost what the store says it anchored (a reset
// network, another channel). Starting anyway would only produce refused
// transactions, so the gateway stops with this error instead.
type MismatchError struct {
	Gateway       string
	LedgerSize    uint64
	StoreSize     uint64
	StoreAnchored uint64
}

// Error implements error, saying what disagrees and what to do.
func (e *MismatchError) Error() string {
	if e.LedgerSize > e.StoreSize {
		return fmt.Sprintf("the ledger holds %d anchored events of gateway %s but this store holds only %d: "+
			"it is not that gateway's log (use a new gateway_id for a new store, or restore the latest store)",
			e.LedgerSize, e.Gateway, e.StoreSize)
	}
	return fmt.Sprintf("this store says %d events of gateway %s were anchored but the ledger holds only %d: "+
		"the ledger was reset or this is another channel (use a new gateway_id or the right channel)",
		e.StoreAnchored, e.Gateway, e.LedgerSize)
}

// CheckLedger compares the ledger's anchored tree size of a gateway with
// the store's size and the size the store believes anchored. The ledger
// may be ahead of the store's belief (a crash between the commit and
// MarkAnchored: the anchorer's replay repairs it) but never ahead of the
// store itself, and never behind what the store saw anchored.
func CheckLedger(gateway string, ledgerSize, storeSize, storeAnchored uint64) error {
	if ledgerSize > storeSize || ledgerSize < storeAnchored {
		return &MismatchError{Gateway: gateway, LedgerSize: ledgerSize, StoreSize: storeSize, StoreAnchored: storeAnchored}
	}
	return nil
}
