// Package intel is the gateway's threat-intelligence domain: indicators
// members share on the ledger ([Input] → [Prepare] → [Ledger.Share]), the
// matcher that checks every event's observables against the indicators
// this organisation may read, and the sightings it reports back. The
// ledger's shapes are chaincode/wire's (wire.Indicator, wire.IndicatorValue,
// wire.Sighting); canonicalisation and the keyed hash are wire's too, so
// gateway and chaincode agree byte for byte.
package intel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Key is a consortium indicator key: the id every indicator hashed with it
// carries, and the secret. Members hold keys off the ledger; the gateway
// reads them once from its configuration.
type Key struct {
	ID     string
	Secret []byte
}

// Wire returns the key as the transient-map value endorsers check hashes
// with.
func (k Key) Wire() wire.IntelKey {
	return wire.IntelKey{ID: k.ID, Secret: hex.EncodeToString(k.Secret)}
}

// Input is one indicator to share as a person or a STIX import gives it:
// the value raw (Prepare canonicalises it), the rest as it will be
// recorded. Stix is the full STIX object as JSON, kept private with the
// value.
type Input struct {
	Type           string
	Value          string
	Confidence     int
	TLP            string
	Recipients     []string
	ValidFrom      time.Time
	ValidUntil     time.Time
	Techniques     []string
	KillChainPhase string
	StixID         string
	Stix           string
}

// InputError names the input (by position and STIX id) that Prepare
// refused, so an import can say which object is wrong.
type InputError struct {
	Index  int
	StixID string
	Err    error
}

func (e *InputError) Error() string {
	if e.StixID != "" {
		return fmt.Sprintf("indicator %d (%s): %v", e.Index, e.StixID, e.Err)
	}
	return fmt.Sprintf("indicator %d: %v", e.Index, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// Prepare canonicalises and hashes inputs for a share by sharer: the public
// records (ids, hashes, metadata; no values) and the private values, each
// with a fresh 32-byte salt from random (crypto/rand when nil). It refuses
// the whole batch on the first bad input (nothing is shared partially),
// including TLP RED, which is never shared.
func Prepare(sharer string, key Key, in []Input, random io.Reader) (wire.IndicatorShare, []wire.IndicatorValue, error) {
	if random == nil {
		random = rand.Reader
	}
	if len(key.Secret) < 16 || key.ID == "" {
		return wire.IndicatorShare{}, nil, errors.New("intel key needs an id and a secret of at least 16 bytes")
	}
	share := wire.IndicatorShare{Indicators: make([]wire.Indicator, 0, len(in))}
	values := make([]wire.IndicatorValue, 0, len(in))
	for i, x := range in {
		if x.TLP == wire.TLPRed {
			return wire.IndicatorShare{}, nil, &InputError{i, x.StixID, errors.New("TLP:RED indicators are never shared")}
		}
		canon, err := wire.CanonicalIndicator(x.Type, x.Value)
		if err != nil {
			return wire.IndicatorShare{}, nil, &InputError{i, x.StixID, err}
		}
		hash := wire.IndicatorHash(key.Secret, x.Type, canon)
		id := wire.IndicatorID(sharer, hash)
		salt := make([]byte, 32)
		if _, err := io.ReadFull(random, salt); err != nil {
			return wire.IndicatorShare{}, nil, fmt.Errorf("salt: %w", err)
		}
		ind := wire.Indicator{
			ID: id, Hash: hash, KeyID: key.ID, Type: x.Type, Confidence: x.Confidence,
			TLP: x.TLP, Recipients: x.Recipients, ValidFrom: wire.NewTime(x.ValidFrom),
			Techniques: x.Techniques, KillChainPhase: x.KillChainPhase, StixID: x.StixID, SharedBy: sharer,
		}
		if !x.ValidUntil.IsZero() {
			ind.ValidUntil = wire.NewTime(x.ValidUntil)
		}
		v := wire.IndicatorValue{
			ID: id, Hash: hash, Type: x.Type, Value: canon, Salt: hex.EncodeToString(salt), Stix: x.Stix,
		}
		ind.ValueHash = v.ValueHash()
		share.Indicators = append(share.Indicators, ind)
		values = append(values, v)
	}
	return share, values, nil
}

// ShareResult says which transactions carried a share: the public
// ShareIndicators transaction and, for AMBER indicators, the
// StoreIndicatorValues transactions (one per recipient set).
type ShareResult struct {
	// SharedTx is the last ShareIndicators transaction; SharedTxs lists
	// them all (a share of more than wire.MaxIndicatorsPerTx indicators
	// takes several).
	SharedTx  string
	SharedTxs []string
	ValueTxs  []string
}

// ListQuery selects indicators: those added after the opaque cursor
// Since ("" from the start), at most PageSize.
type ListQuery struct {
	Since    string
	PageSize int32
}

// Ledger is what the intel domain needs of the ledger; gateway/fabric
// implements it. Share splits values by TLP: CLEAR/GREEN travel with
// ShareIndicators, AMBER ones in StoreIndicatorValues transactions endorsed
// only by their recipients. Reads return the value only where the caller's
// organisation may read it.
type Ledger interface {
	Share(ctx context.Context, share wire.IndicatorShare, values []wire.IndicatorValue, key Key) (ShareResult, error)
	Revoke(ctx context.Context, id, reason string) (string, error)
	Purge(ctx context.Context, id string) (string, error)
	ReportSightings(ctx context.Context, s []wire.Sighting) (string, error)
	Indicator(ctx context.Context, id string) (wire.Indicator, error)
	Indicators(ctx context.Context, q ListQuery) (wire.Page[wire.Indicator], error)
	Sightings(ctx context.Context, id string, pageSize int32, bookmark string) (wire.Page[wire.Sighting], error)
}
