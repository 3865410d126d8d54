package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/stix"
)

// CatalogObject renders a ledger indicator, with its value, as the STIX
// 2.1 object the catalog serves (gateway/stix's export, so TAXII and
// `ledgerguard intel export` serve identical objects at identical
// versions on every gateway). The caller sets Pos and DateAdded.
func CatalogObject(ind wire.Indicator) (intel.Object, error) {
	o, err := stix.IndicatorObject(ind)
	if err != nil {
		return intel.Object{}, err
	}
	var v struct {
		Modified    string `json:"modified"`
		SpecVersion string `json:"spec_version"`
	}
	if err := json.Unmarshal(o.JSON, &v); err != nil {
		return intel.Object{}, err
	}
	return intel.Object{ID: o.ID, Type: o.Type, Version: v.Modified, SpecVersion: v.SpecVersion, Body: o.JSON}, nil
}

// LedgerPublisher is the Publisher of a gateway: it shares the indicators
// of a POSTed envelope as Sharer — gateway/stix parses them (all or
// nothing), intel.Prepare canonicalises and hashes them with Key, Ledger
// commits them. Objects without a TLP marking get the collection's: GREEN
// for the shared collection, AMBER+STRICT (the sharer only: TAXII has no
// way to name recipients) for the amber one; a marking is never loosened,
// so an AMBER object posted to the shared collection stays AMBER. Sharing
// needs a ledger identity with the intel or author role.
type LedgerPublisher struct {
	Ledger intel.Ledger
	Key    intel.Key
	Sharer string
}

// Publish implements Publisher.
func (p *LedgerPublisher) Publish(ctx context.Context, g intel.Group, objs []json.RawMessage) (PublishResult, error) {
	opts := stix.ImportOptions{Sharer: p.Sharer, TLP: wire.TLPGreen}
	if g == intel.GroupAmber {
		opts.TLP = wire.TLPAmberStrict
	}
	imp, err := stix.ParseObjects(objs, opts)
	if err != nil {
		var oe *stix.ObjectError
		if errors.Is(err, stix.ErrTooLarge) {
			return PublishResult{}, &gateway.Error{Code: gateway.CodeTooLarge, Err: err}
		}
		id := ""
		if errors.As(err, &oe) {
			id = oe.ID
		}
		return PublishResult{}, &InvalidObjectError{ObjectID: id, Err: err}
	}
	if len(imp.Inputs) == 0 {
		return PublishResult{}, &InvalidObjectError{Err: fmt.Errorf("the envelope's %d objects hold no indicator to share", imp.Objects)}
	}
	share, values, err := intel.Prepare(p.Sharer, p.Key, imp.Inputs, nil)
	if err != nil {
		var ie *intel.InputError
		if errors.As(err, &ie) {
			return PublishResult{}, &InvalidObjectError{ObjectID: ie.StixID, Err: err}
		}
		return PublishResult{}, err
	}
	sr, err := p.Ledger.Share(ctx, share, values, p.Key)
	if err != nil {
		return PublishResult{}, err
	}
	res := PublishResult{TxIDs: append(append([]string{}, sr.SharedTxs...), sr.ValueTxs...)}
	if len(sr.SharedTxs) == 0 && sr.SharedTx != "" {
		res.TxIDs = append([]string{sr.SharedTx}, res.TxIDs...)
	}
	for _, in := range imp.Inputs {
		res.Shared = append(res.Shared, ObjectRef{ID: in.StixID, Message: "shared on the ledger as " + in.Type})
	}
	for _, s := range imp.Skipped {
		res.Context = append(res.Context, ObjectRef{ID: s.ID, Message: s.Reason})
	}
	return res, nil
}
