package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// The intel contract's client: Ledger implements intel.Ledger, and
// intel.BatchReader for the sync.
var (
	_ intel.Ledger      = (*Ledger)(nil)
	_ intel.BatchReader = (*Ledger)(nil)
)

// storeRetries bounds how often StoreIndicatorValues is retried while a
// recipient's peer has not yet committed the ShareIndicators block (the
// chaincode answers NOT_FOUND there), and storeBackoff is the first wait.
const (
	storeRetries = 20
	storeBackoff = 50 * time.Millisecond
)

// Share shares indicators as the client's organisation: values and
// records from intel.Prepare (records without a ValueHash get it from
// their value). It submits intel:ShareIndicators in chunks of at most
// wire.MaxIndicatorsPerTx, each carrying in its transient map the values
// of its CLEAR and GREEN indicators and the key; then, for AMBER and
// AMBER+STRICT indicators, one intel:StoreIndicatorValues per recipient
// set, endorsed by exactly those recipients (so no other member's peer
// sees the values). Each transaction is committed before the next starts.
// The records travel in the transient map, or as the argument where the
// chaincode predates that form (see shareChunk).
// A value without a record, or a record without a value, is refused
// before anything is submitted.
func (l *Ledger) Share(ctx context.Context, share wire.IndicatorShare, values []wire.IndicatorValue, key intel.Key) (intel.ShareResult, error) {
	op := wire.TxShareIndicators
	byID := make(map[string]wire.IndicatorValue, len(values))
	for _, v := range values {
		byID[v.ID] = v
	}
	if len(byID) != len(share.Indicators) || len(values) != len(share.Indicators) {
		return intel.ShareResult{}, &gateway.LedgerRejectedError{Op: op, Code: wire.CodeInvalid,
			Reason: "share needs exactly one value per indicator (" + strconv.Itoa(len(share.Indicators)) + " indicators, " + strconv.Itoa(len(values)) + " values)"}
	}
	inds := slices.Clone(share.Indicators)
	for i := range inds {
		v, ok := byID[inds[i].ID]
		if !ok {
			return intel.ShareResult{}, &gateway.LedgerRejectedError{Op: op, Code: wire.CodeInvalid, Reason: "no value for indicator " + inds[i].ID}
		}
		if inds[i].ValueHash == "" {
			inds[i].ValueHash = v.ValueHash()
		}
	}
	wk, err := json.Marshal(key.Wire())
	if err != nil {
		return intel.ShareResult{}, encodeError(op, "key", err)
	}
	var res intel.ShareResult
	amber := map[string][]wire.IndicatorValue{} // recipients joined → values
	var groups []string
	for start := 0; start < len(inds); start += wire.MaxIndicatorsPerTx {
		chunk := inds[start:min(start+wire.MaxIndicatorsPerTx, len(inds))]
		var shared []wire.IndicatorValue
		for _, ind := range chunk {
			v := byID[ind.ID]
			if wire.IsAmber(ind.TLP) {
				rs := slices.Clone(ind.Recipients)
				if len(rs) == 0 && ind.TLP == wire.TLPAmberStrict {
					rs = []string{l.c.mspID}
				}
				slices.Sort(rs)
				g := strings.Join(rs, ",")
				if _, ok := amber[g]; !ok {
					groups = append(groups, g)
				}
				amber[g] = append(amber[g], v)
				continue
			}
			shared = append(shared, v)
		}
		arg, err := json.Marshal(wire.IndicatorShare{Indicators: chunk})
		if err != nil {
			return res, encodeError(op, "share", err)
		}
		slim, err := json.Marshal(wire.IndicatorShare{Indicators: slimRecords(chunk)})
		if err != nil {
			return res, encodeError(op, "share", err)
		}
		tm := map[string][]byte{}
		if len(shared) > 0 {
			tv, err := json.Marshal(shared)
			if err != nil {
				return res, encodeError(op, "values", err)
			}
			tm[wire.TransientIntelValues], tm[wire.TransientIntelKey] = tv, wk
		}
		st, err := l.shareChunk(ctx, slim, arg, tm)
		if err != nil {
			return res, err
		}
		res.SharedTx = st.TransactionID
		res.SharedTxs = append(res.SharedTxs, st.TransactionID)
	}
	for _, g := range groups {
		vs := amber[g]
		for start := 0; start < len(vs); start += wire.MaxIndicatorsPerTx {
			txID, err := l.storeValues(ctx, strings.Split(g, ","), vs[start:min(start+wire.MaxIndicatorsPerTx, len(vs))], wk)
			if err != nil {
				return res, err
			}
			res.ValueTxs = append(res.ValueTxs, txID)
		}
	}
	return res, nil
}

// slimRecords returns records without what the chaincode derives (see
// wire.IndicatorShare): id and sharer, and the type and valueHash of
// CLEAR and GREEN records, whose values travel with them. A share's
// records are in the proposal every endorser receives and hashes, and in
// each endorser's chaincode process: about a third fewer bytes there.
func slimRecords(inds []wire.Indicator) []wire.Indicator {
	out := slices.Clone(inds)
	for i := range out {
		out[i].ID, out[i].SharedBy = "", ""
		if !wire.IsAmber(out[i].TLP) {
			out[i].Type, out[i].ValueHash = "", ""
		}
	}
	return out
}

// shareChunk submits one intel:ShareIndicators of a chunk of records,
// with transient (the values and key, or empty) in its transient map:
// slim is the chunk's share without what the chaincode derives, full the
// same share with every field.
//
// The records go in the transient map, slim, with an empty argument: the
// block then carries them once, as the chaincode writes them. A
// chaincode older than that form reads the empty argument or the slim
// records as a malformed share and refuses it at endorsement with
// wire.CodeInvalid; nothing was ordered then, so the chunk is endorsed
// once more with the full records as the argument, the form every
// version accepts (its block carries them twice). The chaincode's replay
// check hashes the share's bytes, so a retry by the same gateway finds
// its replay in either form. A share the current chaincode finds invalid
// is refused in both forms, and the second refusal is returned: it costs
// one more endorsement, only for a share that fails anyway.
func (l *Ledger) shareChunk(ctx context.Context, slim, full []byte, transient map[string][]byte) (*client.Status, error) {
	op := wire.TxShareIndicators
	tm := make(map[string][]byte, len(transient)+1)
	maps.Copy(tm, transient)
	tm[wire.TransientIntelShare] = slim
	_, st, err := l.submitWith(ctx, wire.ContractIntel, op, client.WithArguments(""), client.WithTransient(tm))
	var rej *gateway.LedgerRejectedError
	if err == nil || !errors.As(err, &rej) || rej.Code != wire.CodeInvalid || rej.Stage != gateway.StageEndorse {
		return st, err
	}
	_, st, err = l.submitWith(ctx, wire.ContractIntel, op, client.WithArguments(string(full)), client.WithTransient(transient))
	return st, err
}

// storeValues submits intel:StoreIndicatorValues endorsed by recipients
// only, retrying while a recipient's peer has not seen the public record.
func (l *Ledger) storeValues(ctx context.Context, recipients []string, values []wire.IndicatorValue, key []byte) (string, error) {
	op := wire.TxStoreIndicatorValues
	tv, err := json.Marshal(values)
	if err != nil {
		return "", encodeError(op, "values", err)
	}
	wait := storeBackoff
	for attempt := 0; ; attempt++ {
		_, st, err := l.submitWith(ctx, wire.ContractIntel, op,
			client.WithTransient(map[string][]byte{wire.TransientIntelValues: tv, wire.TransientIntelKey: key}),
			client.WithEndorsingOrganizations(recipients...))
		var rej *gateway.LedgerRejectedError
		if err == nil {
			return st.TransactionID, nil
		}
		if attempt >= storeRetries || !(errors.As(err, &rej) && rej.Code == wire.CodeNotFound || errors.Is(err, gateway.ErrLedgerUnavailable)) {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", &gateway.LedgerUnavailableError{Op: op, Stage: gateway.StageEndorse, Err: ctx.Err()}
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Revoke submits intel:RevokeIndicator and returns its transaction id.
func (l *Ledger) Revoke(ctx context.Context, id, reason string) (string, error) {
	_, st, err := l.submit(ctx, wire.ContractIntel, wire.TxRevokeIndicator, id, reason)
	if err != nil {
		return "", err
	}
	return st.TransactionID, nil
}

// Purge submits intel:PurgeIndicator and returns its transaction id.
func (l *Ledger) Purge(ctx context.Context, id string) (string, error) {
	_, st, err := l.submit(ctx, wire.ContractIntel, wire.TxPurgeIndicator, id)
	if err != nil {
		return "", err
	}
	return st.TransactionID, nil
}

// ReportSightings submits intel:ReportSightings (at most
// wire.MaxSightingsPerTx) and returns its transaction id.
func (l *Ledger) ReportSightings(ctx context.Context, s []wire.Sighting) (string, error) {
	arg, err := json.Marshal(wire.SightingReport{Sightings: s})
	if err != nil {
		return "", encodeError(wire.TxReportSightings, "sightings", err)
	}
	_, st, err := l.submit(ctx, wire.ContractIntel, wire.TxReportSightings, string(arg))
	if err != nil {
		return "", err
	}
	return st.TransactionID, nil
}

// Indicator evaluates intel:GetIndicator on the organisation's own peer:
// the record, with its value when the organisation may read it.
func (l *Ledger) Indicator(ctx context.Context, id string) (wire.Indicator, error) {
	var ind wire.Indicator
	err := l.evaluateJSON(ctx, &ind, wire.ContractIntel, wire.TxGetIndicator, id)
	return ind, err
}

// IndicatorsByID evaluates intel:GetIndicators on the organisation's own
// peer: the records of ids (at most wire.MaxIndicatorsPerTx) that exist
// and the organisation may see, in the order asked, each with its value
// when the organisation may read it; the others are left out.
func (l *Ledger) IndicatorsByID(ctx context.Context, ids []string) ([]wire.Indicator, error) {
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, encodeError(wire.TxGetIndicators, "ids", err)
	}
	var out []wire.Indicator
	err = l.evaluateJSON(ctx, &out, wire.ContractIntel, wire.TxGetIndicators, string(arg))
	return out, err
}

// Indicators evaluates intel:ListIndicators: one page of the indicators
// the organisation may see, in id order, from the bookmark q.Since ("" =
// the first page).
func (l *Ledger) Indicators(ctx context.Context, q intel.ListQuery) (wire.Page[wire.Indicator], error) {
	return l.ListIndicators(ctx, wire.IndicatorFilter{}, q.PageSize, q.Since)
}

// ListIndicators evaluates intel:ListIndicators with a filter.
func (l *Ledger) ListIndicators(ctx context.Context, f wire.IndicatorFilter, pageSize int32, bookmark string) (wire.Page[wire.Indicator], error) {
	filter := ""
	if f != (wire.IndicatorFilter{}) {
		b, err := json.Marshal(f)
		if err != nil {
			return wire.Page[wire.Indicator]{}, encodeError(wire.TxListIndicators, "filter", err)
		}
		filter = string(b)
	}
	var page wire.Page[wire.Indicator]
	err := l.evaluateJSON(ctx, &page, wire.ContractIntel, wire.TxListIndicators, filter, strconv.FormatInt(int64(pageSize), 10), bookmark)
	return page, err
}

// Sightings evaluates intel:GetSightings for one indicator.
func (l *Ledger) Sightings(ctx context.Context, id string, pageSize int32, bookmark string) (wire.Page[wire.Sighting], error) {
	var page wire.Page[wire.Sighting]
	err := l.evaluateJSON(ctx, &page, wire.ContractIntel, wire.TxGetSightings, id, strconv.FormatInt(int64(pageSize), 10), bookmark)
	return page, err
}
