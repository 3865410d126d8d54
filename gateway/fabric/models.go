package fabric

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/fabric/fabricerr"
)

// ListModels evaluates models:ListModels: one page of model registrations
// matching filter, resuming at bookmark ("" for the first page). It
// implements provenance.Ledger. Errors are classified like the ledger's
// writes: transient ones wrap gateway.ErrLedgerUnavailable, refusals are
// *gateway.LedgerRejectedError.
func (l *Ledger) ListModels(ctx context.Context, filter wire.ModelFilter, pageSize int32, bookmark string) (wire.Page[wire.ModelRecord], error) {
	f := ""
	if filter != (wire.ModelFilter{}) {
		b, err := json.Marshal(filter)
		if err != nil {
			return wire.Page[wire.ModelRecord]{}, &gateway.LedgerRejectedError{Op: "ListModels", Reason: "encode filter: " + err.Error()}
		}
		f = string(b)
	}
	var page wire.Page[wire.ModelRecord]
	err := l.evaluateModels(ctx, &page, "ListModels", f, strconv.FormatInt(int64(pageSize), 10), bookmark)
	return page, err
}

// GetModel evaluates models:GetModel for one (name, version).
func (l *Ledger) GetModel(ctx context.Context, name, version string) (wire.ModelRecord, error) {
	var m wire.ModelRecord
	err := l.evaluateModels(ctx, &m, "GetModel", name, version)
	return m, err
}

func (l *Ledger) evaluateModels(ctx context.Context, out any, fn string, args ...string) error {
	raw, err := l.c.Contract(l.channel, l.chaincode, "models").EvaluateWithContext(ctx, fn, client.WithArguments(args...))
	if err != nil {
		return fabricerr.Classify(fn, "", err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &gateway.LedgerRejectedError{Op: fn, Reason: "decode result: " + err.Error()}
	}
	return nil
}
