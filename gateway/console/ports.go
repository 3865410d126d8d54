package console

import (
	"context"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Ledger is the ledger as the console uses it: evaluate (read) and submit
// (write) transactions of the ledgerguard chaincode by contract and name
// (chaincode/wire/names.go). *fabric.Ledger implements it. Errors are the
// gateway's typed ledger errors (*gateway.LedgerRejectedError with a
// wire.Code, *gateway.LedgerUnavailableError), which pages show as the
// ledger's answer.
type Ledger interface {
	Evaluate(ctx context.Context, contract, tx string, args ...string) ([]byte, error)
	Submit(ctx context.Context, contract, tx string, args ...string) ([]byte, error)
}

// BlockFinder returns the number of the block that holds transaction
// txID (nil in Deps: block numbers are shown only where a record carries
// them).
type BlockFinder func(ctx context.Context, txID string) (uint64, error)

// EventStore is the gateway's own log: the cited events of its alerts and
// their inclusion proofs (*store.Store implements it).
type EventStore interface {
	// Batch returns a sealed batch of this gateway by id.
	Batch(ctx context.Context, id string) (gateway.Batch, error)
	// Leaves returns the leaves [from, to).
	Leaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error)
	// InclusionProof proves leaf seq in the tree of size treeSize.
	InclusionProof(ctx context.Context, seq, treeSize uint64) (gateway.InclusionProof, error)
}

// Sample is a snapshot of the gateway's counters: events stored, events
// anchored, alerts raised (all monotonic since start for the rates), the
// age of the oldest event not yet anchored, and the batches waiting.
type Sample struct {
	At       time.Time
	Stored   uint64
	Anchored uint64
	Alerts   uint64
	Lag      time.Duration
	Pending  int
}

// Readiness is the gateway's readiness (what /readyz answers): ready, and
// per check "ok" or why not.
type Readiness func(ctx context.Context) (ready bool, checks map[string]string)
