package fabric

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// ListModels evaluates models:ListModels: one page of model registrations
// matching filter, resuming at bookmark ("" for the first page). It
// implements provenance.Ledger.
func (l *Ledger) ListModels(ctx context.Context, filter wire.ModelFilter, pageSize int32, bookmark string) (wire.Page[wire.ModelRecord], error) {
	f := ""
	if filter != (wire.ModelFilter{}) {
		b, err := json.Marshal(filter)
		if err != nil {
			return wire.Page[wire.ModelRecord]{}, encodeError(wire.TxListModels, "filter", err)
		}
		f = string(b)
	}
	var page wire.Page[wire.ModelRecord]
	err := l.evaluateJSON(ctx, &page, wire.ContractModels, wire.TxListModels, f, strconv.FormatInt(int64(pageSize), 10), bookmark)
	return page, err
}

// GetModel evaluates models:GetModel for one (name, version).
func (l *Ledger) GetModel(ctx context.Context, name, version string) (wire.ModelRecord, error) {
	var m wire.ModelRecord
	err := l.evaluateJSON(ctx, &m, wire.ContractModels, wire.TxGetModel, name, version)
	return m, err
}
