package stix

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Object is one STIX 2.1 object as ledgerguard writes it: its id, type,
// version (its modified time, or created for objects that have no
// modified) and JSON.
type Object struct {
	ID      string
	Type    string
	Version time.Time
	JSON    json.RawMessage
}

// IdentityEpoch is the created and modified time of the identity objects
// ledgerguard derives for member organisations. They are derived from the
// MSP id, not authored, so a fixed time keeps every export and every
// gateway's TAXII server serving one and the same version.
var IdentityEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// IdentityID returns the STIX id of the identity of the member
// organisation msp.
func IdentityID(msp string) string { return "identity--" + derivedUUID("identity\x00"+msp) }

// IdentityObject returns the identity object of the member organisation
// msp: what indicators' created_by_ref points at.
func IdentityObject(msp string) Object {
	ts := formatTimestamp(IdentityEpoch)
	b, _ := json.Marshal(struct {
		Type          string `json:"type"`
		SpecVersion   string `json:"spec_version"`
		ID            string `json:"id"`
		Created       string `json:"created"`
		Modified      string `json:"modified"`
		Name          string `json:"name"`
		Description   string `json:"description"`
		IdentityClass string `json:"identity_class"`
	}{"identity", "2.1", IdentityID(msp), ts, ts, msp,
		"ledgerguard consortium member, named by its Hyperledger Fabric MSP id", "organization"})
	return Object{ID: IdentityID(msp), Type: "identity", Version: IdentityEpoch, JSON: b}
}

// IndicatorID returns the STIX id ledgerguard serves a ledger indicator
// under: the id it was shared with (import gives every indicator its own),
// or one derived from the ledger id when it has none.
func IndicatorID(ind wire.Indicator) string {
	if validID(ind.StixID, "indicator") {
		return ind.StixID
	}
	return "indicator--" + derivedUUID("indicator\x00"+ind.ID)
}

// ErrNoValue: the indicator's value is not readable here (another
// organisation's AMBER indicator, or a purged one), so it has no pattern.
var ErrNoValue = errors.New("indicator value not readable")

// indicatorOut is an indicator as export writes it, in STIX's property
// order.
type indicatorOut struct {
	Type               string              `json:"type"`
	SpecVersion        string              `json:"spec_version"`
	ID                 string              `json:"id"`
	CreatedByRef       string              `json:"created_by_ref"`
	Created            string              `json:"created"`
	Modified           string              `json:"modified"`
	Revoked            bool                `json:"revoked,omitempty"`
	Name               string              `json:"name"`
	Description        string              `json:"description,omitempty"`
	IndicatorTypes     []string            `json:"indicator_types,omitempty"`
	Pattern            string              `json:"pattern"`
	PatternType        string              `json:"pattern_type"`
	PatternVersion     string              `json:"pattern_version"`
	ValidFrom          string              `json:"valid_from"`
	ValidUntil         string              `json:"valid_until,omitempty"`
	KillChainPhases    []killChainPhase    `json:"kill_chain_phases,omitempty"`
	Confidence         int                 `json:"confidence"`
	ExternalReferences []externalReference `json:"external_references"`
	ObjectMarkingRefs  []string            `json:"object_marking_refs"`
}

// original holds what export keeps of the object an indicator was shared
// from; everything else comes from the ledger record.
type original struct {
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	IndicatorTypes []string `json:"indicator_types"`
	Labels         []string `json:"labels"` // STIX 2.0's indicator types
	SpecVersion    string   `json:"spec_version"`
	Created        string   `json:"created"`
	Modified       string   `json:"modified"`
}

// IndicatorObject writes a ledger indicator (with its value) as a STIX 2.1
// indicator: its pattern, validity, confidence, kill-chain phase, ATT&CK
// techniques (as mitre-attack external references), TLP 2.0 marking, the
// sharer's identity, its ledger id (a "ledgerguard" external reference)
// and, if revoked on the ledger, revoked: true. Name, description,
// indicator types and created/modified come from the object it was shared
// from, when there is one.
func IndicatorObject(ind wire.Indicator) (Object, error) {
	if ind.Value == "" {
		return Object{}, fmt.Errorf("%s: %w", ind.ID, ErrNoValue)
	}
	pattern, err := FormatPattern(ind.Type, ind.Value)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %w", ind.ID, err)
	}
	marking, ok := MarkingID(ind.TLP)
	if !ok {
		return Object{}, fmt.Errorf("%s: unknown TLP %q", ind.ID, ind.TLP)
	}
	var orig original
	if ind.Stix != "" {
		_ = json.Unmarshal([]byte(ind.Stix), &orig) // best effort: the ledger record is authoritative
	}
	created := ind.SharedAt.Time
	if created.IsZero() {
		created = ind.ValidFrom.Time
	}
	if t, err := parseTimestamp(orig.Created); err == nil {
		created = t
	}
	modified := created
	if t, err := parseTimestamp(orig.Modified); err == nil && !t.Before(created) {
		modified = t
	}
	out := indicatorOut{
		Type: "indicator", SpecVersion: "2.1", ID: IndicatorID(ind), CreatedByRef: IdentityID(ind.SharedBy),
		Name: orig.Name, Description: orig.Description, IndicatorTypes: orig.IndicatorTypes,
		Pattern: pattern, PatternType: "stix", PatternVersion: "2.1",
		ValidFrom: formatTimestamp(ind.ValidFrom.Time), Confidence: ind.Confidence,
		ObjectMarkingRefs: []string{marking},
	}
	if out.Name == "" {
		out.Name = clip(ind.Type+" "+ind.Value, 200)
	}
	if out.Description == "" {
		out.Description = fmt.Sprintf("%s indicator shared by %s on the ledgerguard consortium ledger", ind.Type, ind.SharedBy)
	}
	if len(out.IndicatorTypes) == 0 && orig.SpecVersion == "" {
		out.IndicatorTypes = orig.Labels
	}
	if !ind.ValidUntil.IsZero() {
		if !ind.ValidUntil.After(ind.ValidFrom.Time) {
			return Object{}, fmt.Errorf("%s: valid until %s is not after valid from %s", ind.ID, ind.ValidUntil, ind.ValidFrom)
		}
		out.ValidUntil = formatTimestamp(ind.ValidUntil.Time)
	}
	if ind.Status == wire.IndicatorRevoked || !ind.RevokedAt.IsZero() {
		out.Revoked = true
		if ind.RevokedAt.After(modified) {
			modified = ind.RevokedAt.Time
		}
	}
	out.Created, out.Modified = formatTimestamp(created), formatTimestamp(modified)
	if ind.KillChainPhase != "" {
		name, phase, ok := strings.Cut(ind.KillChainPhase, ":")
		if !ok {
			name, phase = "mitre-attack", ind.KillChainPhase
		}
		out.KillChainPhases = []killChainPhase{{name, phase}}
	}
	for _, t := range ind.Techniques {
		// No URL: STIX asks for a hash beside every URL, and the id alone
		// names the technique.
		out.ExternalReferences = append(out.ExternalReferences, externalReference{SourceName: "mitre-attack", ExternalID: t})
	}
	out.ExternalReferences = append(out.ExternalReferences, externalReference{SourceName: "ledgerguard", ExternalID: ind.ID})
	b, err := json.Marshal(out)
	if err != nil {
		return Object{}, err
	}
	return Object{ID: out.ID, Type: "indicator", Version: modified, JSON: b}, nil
}

// Export is the result of [ExportBundle].
type Export struct {
	// Bundle is the STIX 2.1 bundle (indented JSON).
	Bundle []byte
	// Indicators counts the indicators written.
	Indicators int
	// Skipped lists ledger indicators left out (by ledger id) and why.
	Skipped []Skipped
}

// ExportBundle writes ledger indicators as a STIX 2.1 bundle: the
// indicator objects (in the order given), the identities of their sharers
// and the TLP 2.0 marking definitions they reference. Indicators whose
// value is not readable (ErrNoValue) are left out and listed; so are
// revoked ones unless includeRevoked, which writes them with revoked: true,
// and second copies of one STIX object version (the same object shared
// twice, e.g. under a rotated key).
// The bundle id is derived from its contents.
func ExportBundle(inds []wire.Indicator, includeRevoked bool) (*Export, error) {
	exp := &Export{}
	var indicators []Object
	sharers := map[string]bool{}
	tlps := map[string]bool{}
	written := map[string]string{} // STIX id and version → ledger id
	for _, ind := range inds {
		revoked := ind.Status == wire.IndicatorRevoked || !ind.RevokedAt.IsZero()
		if revoked && !includeRevoked {
			exp.Skipped = append(exp.Skipped, Skipped{ID: ind.ID, Reason: "revoked"})
			continue
		}
		o, err := IndicatorObject(ind)
		if errors.Is(err, ErrNoValue) {
			exp.Skipped = append(exp.Skipped, Skipped{ID: ind.ID, Reason: "value not readable by this organisation (or purged)"})
			continue
		}
		if err != nil {
			return nil, err
		}
		// One STIX object shared twice (re-shared under a rotated key, or
		// by another member) is written once: a bundle must not hold two
		// copies of one version.
		version := o.ID + "\x00" + formatTimestamp(o.Version)
		if first, dup := written[version]; dup {
			exp.Skipped = append(exp.Skipped, Skipped{ID: ind.ID, Reason: "same STIX object and version as ledger indicator " + first})
			continue
		}
		written[version] = ind.ID
		indicators = append(indicators, o)
		sharers[ind.SharedBy] = true
		tlps[ind.TLP] = true
	}
	var objs []Object
	for _, t := range tlpOrder {
		if tlps[t] {
			m, err := MarkingObject(t)
			if err != nil {
				return nil, err
			}
			objs = append(objs, m)
		}
	}
	msps := make([]string, 0, len(sharers))
	for m := range sharers {
		msps = append(msps, m)
	}
	sort.Strings(msps)
	for _, m := range msps {
		objs = append(objs, IdentityObject(m))
	}
	objs = append(objs, indicators...)
	b, err := Bundle(objs)
	if err != nil {
		return nil, err
	}
	exp.Bundle, exp.Indicators = b, len(indicators)
	return exp, nil
}

// Bundle wraps objects in a STIX 2.1 bundle whose id is derived from the
// objects' ids and versions, so the same objects always make the same
// bundle.
func Bundle(objs []Object) ([]byte, error) {
	h := sha256.New()
	raws := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		fmt.Fprintf(h, "%s\x00%s\x00", o.ID, formatTimestamp(o.Version))
		raws[i] = o.JSON
	}
	b, err := json.MarshalIndent(struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Objects []json.RawMessage `json:"objects"`
	}{"bundle", "bundle--" + derivedUUID("bundle\x00"+hex.EncodeToString(h.Sum(nil))), raws}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// formatTimestamp writes a STIX timestamp in UTC with at least millisecond
// precision (STIX 2.1 requires it for created and modified), more when
// the time has it.
func formatTimestamp(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	frac := strconv.Itoa(t.Nanosecond() + 1_000_000_000)[1:] // nine digits
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 3 {
		frac += "0"
	}
	return s + "." + frac + "Z"
}
