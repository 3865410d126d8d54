package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/stix"
	"github.com/ledgerguard/ledgerguard/gateway/taxii"
)

// newTAXII builds the TAXII 2.1 server over the organisation's intel
// catalog; pub nil makes it read-only.
func newTAXII(tc taxii.Config, src taxii.Source, pub taxii.Publisher, creds []gateway.Credential, msp string, log *slog.Logger) (http.Handler, error) {
	if !gateway.AnyHas(creds, gateway.ScopeIntel) {
		log.Warn("taxii is enabled but no credential has the intel scope: every request is refused")
	}
	s, err := taxii.New(tc, taxii.Deps{Source: src, Publisher: pub, Credentials: creds, Org: msp, Logger: log})
	if err != nil {
		return nil, usageError{fmt.Errorf("taxii: %w", err)}
	}
	log.Info("taxii enabled", "path", taxii.Prefix+"/", "api_root", tc.APIRoot, "shares", pub != nil)
	return s, nil
}

// taxiiObject renders a ledger indicator, with its value, as the STIX 2.1
// object the catalog serves (gateway/stix's export, so TAXII and
// `ledgerguard intel export` serve identical objects at identical
// versions). The caller sets Pos and DateAdded.
func taxiiObject(ind wire.Indicator) (intel.Object, error) {
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

// taxiiPublisher shares the indicators of an envelope POSTed to a
// collection as this organisation: gateway/stix parses them (all or
// nothing), intel.Prepare hashes them, the ledger commits them. Objects
// without a TLP marking get the collection's: GREEN for the shared
// collection, AMBER+STRICT (this organisation only: TAXII has no way to
// name recipients) for the amber one; a marking is never loosened.
type taxiiPublisher struct {
	ledger intel.Ledger
	key    intel.Key
	sharer string
}

// Publish implements taxii.Publisher.
func (p *taxiiPublisher) Publish(ctx context.Context, g intel.Group, objs []json.RawMessage) (taxii.PublishResult, error) {
	opts := stix.ImportOptions{Sharer: p.sharer, TLP: wire.TLPGreen}
	if g == intel.GroupAmber {
		opts.TLP = wire.TLPAmberStrict
	}
	imp, err := stix.ParseObjects(objs, opts)
	if err != nil {
		var oe *stix.ObjectError
		if errors.As(err, &oe) && errors.Is(err, stix.ErrTooLarge) {
			return taxii.PublishResult{}, &gateway.Error{Code: gateway.CodeTooLarge, Err: err}
		}
		id := ""
		if oe != nil {
			id = oe.ID
		}
		return taxii.PublishResult{}, &taxii.InvalidObjectError{ObjectID: id, Err: err}
	}
	if len(imp.Inputs) == 0 {
		return taxii.PublishResult{}, &taxii.InvalidObjectError{Err: fmt.Errorf("the envelope's %d objects hold no indicator to share", imp.Objects)}
	}
	share, values, err := intel.Prepare(p.sharer, p.key, imp.Inputs, nil)
	if err != nil {
		var ie *intel.InputError
		if errors.As(err, &ie) {
			return taxii.PublishResult{}, &taxii.InvalidObjectError{ObjectID: ie.StixID, Err: err}
		}
		return taxii.PublishResult{}, err
	}
	sr, err := p.ledger.Share(ctx, share, values, p.key)
	if err != nil {
		return taxii.PublishResult{}, err
	}
	res := taxii.PublishResult{TxIDs: append([]string{sr.SharedTx}, sr.ValueTxs...)}
	seen := map[string]bool{}
	for _, in := range imp.Inputs {
		if !seen[in.StixID] {
			seen[in.StixID] = true
			res.Shared = append(res.Shared, taxii.ObjectRef{ID: in.StixID, Message: "shared on the ledger"})
		}
	}
	for _, s := range imp.Skipped {
		res.Context = append(res.Context, taxii.ObjectRef{ID: s.ID, Message: s.Reason})
	}
	return res, nil
}
