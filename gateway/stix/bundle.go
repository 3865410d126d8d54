package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// Limits of one import. One import is one ShareIndicators transaction, so
// that a failure shares nothing rather than part of a bundle.
const (
	// DefaultMaxBundleBytes bounds a bundle's size.
	DefaultMaxBundleBytes = 16 << 20
	// MaxObjects bounds the objects of one bundle.
	MaxObjects = 100_000
	// MaxIndicators bounds the indicators one import shares (after OR
	// patterns are split): one transaction's worth.
	MaxIndicators = wire.MaxIndicatorsPerTx
	// DefaultConfidence is the confidence of indicators whose object has
	// none (STIX 2.0 has no confidence property) when the options give none:
	// "medium" on STIX 2.1's confidence scales.
	DefaultConfidence = 50
)

// ImportOptions says how to share what a bundle holds.
type ImportOptions struct {
	// TLP marks indicators whose object carries no TLP marking, and is the
	// floor for the others: an object marked less strictly is shared at
	// TLP (a marking is never loosened). "" requires every indicator to be
	// marked.
	TLP string
	// Sharer is the MSP id of the sharing organisation: every AMBER
	// indicator's recipients include it and AMBER+STRICT ones have only it.
	Sharer string
	// Recipients are the other organisations (MSP ids) AMBER indicators
	// are shared with; ignored for CLEAR, GREEN and AMBER+STRICT.
	Recipients []string
	// Confidence (1..100) is given to indicators whose object has none; 0
	// means DefaultConfidence.
	Confidence int
	// SkipUnshareable skips indicators that cannot be shared (unsupported
	// patterns, values invalid for their type, TLP:RED) and lists them in
	// Import.Skipped instead of refusing the whole bundle.
	SkipUnshareable bool
	// MaxBytes bounds the bundle; 0 means DefaultMaxBundleBytes.
	MaxBytes int
}

// Import is what a bundle yields: the indicators to share, in bundle
// order, and what was left out and why.
type Import struct {
	// Inputs are ready for intel.Prepare: values canonical, TLP and
	// recipients resolved.
	Inputs []intel.Input
	// Skipped lists the indicator objects not shared, with the reason.
	Skipped []Skipped
	// Objects counts the bundle's objects; IndicatorObjects its indicator
	// objects (latest version of each id).
	Objects          int
	IndicatorObjects int
}

// Skipped is an indicator object an import left out.
type Skipped struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Parse reads a STIX 2.0 or 2.1 bundle. It returns every indicator it can
// share, or an *ObjectError naming the first object it cannot (and then
// nothing: an import shares all or nothing, unless opts.SkipUnshareable).
func Parse(data []byte, opts ImportOptions) (*Import, error) {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBundleBytes
	}
	if len(data) > limit {
		return nil, bundleErr(ErrTooLarge, "%d bytes exceeds the limit of %d", len(data), limit)
	}
	var b struct {
		Type        string            `json:"type"`
		ID          string            `json:"id"`
		SpecVersion string            `json:"spec_version"`
		Objects     []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, bundleErr(ErrMalformed, "not a JSON STIX bundle: %v", err)
	}
	if b.Type != "bundle" {
		return nil, bundleErr(ErrMalformed, "type is %q, want \"bundle\"", clip(b.Type, 40))
	}
	if !validID(b.ID, "bundle") {
		return nil, bundleErr(ErrMalformed, "id %q is not bundle--<UUID>", clip(b.ID, 80))
	}
	if b.SpecVersion != "" && b.SpecVersion != "2.0" && b.SpecVersion != "2.1" {
		return nil, bundleErr(ErrMalformed, "spec_version %q is not 2.0 or 2.1", clip(b.SpecVersion, 20))
	}
	return ParseObjects(b.Objects, opts)
}

// ParseObjects reads the objects of a bundle or of a TAXII envelope, as
// Parse does.
func ParseObjects(objects []json.RawMessage, opts ImportOptions) (*Import, error) {
	if len(objects) > MaxObjects {
		return nil, bundleErr(ErrTooLarge, "%d objects exceeds the limit of %d", len(objects), MaxObjects)
	}
	if err := checkOptions(&opts); err != nil {
		return nil, bundleErr(ErrMalformed, "%v", err)
	}
	c := &collector{
		opts:     opts,
		markings: map[string]string{},
		patterns: map[string]attackPattern{},
		related:  map[string][]string{},
		latest:   map[string]int{},
	}
	for i, raw := range objects {
		if err := c.scan(i, raw); err != nil {
			return nil, err
		}
	}
	imp := &Import{Objects: len(objects), IndicatorObjects: len(c.indicators)}
	type key struct{ typ, value string }
	seen := map[key]int{} // → index in imp.Inputs
	for _, ix := range c.indicators {
		ins, skip, err := c.indicator(ix)
		if err != nil {
			return nil, err
		}
		if skip != nil {
			imp.Skipped = append(imp.Skipped, *skip)
			continue
		}
		for _, in := range ins {
			k := key{in.Type, in.Value}
			if j, dup := seen[k]; dup {
				merge(&imp.Inputs[j], in)
				imp.Skipped = append(imp.Skipped, Skipped{ID: in.StixID, Reason: fmt.Sprintf("%s %s is also in %s: shared once, with the stricter TLP and both objects' techniques", in.Type, in.Value, imp.Inputs[j].StixID)})
				continue
			}
			seen[k] = len(imp.Inputs)
			imp.Inputs = append(imp.Inputs, in)
		}
		if len(imp.Inputs) > MaxIndicators {
			return nil, bundleErr(ErrTooLarge, "more than %d indicators: one import is one ledger transaction, so that nothing is shared partially; split the bundle", MaxIndicators)
		}
	}
	return imp, nil
}

func checkOptions(o *ImportOptions) error {
	if o.TLP != "" {
		t, err := ParseTLP(o.TLP)
		if err != nil {
			return err
		}
		if t == wire.TLPRed {
			return errors.New("TLP:RED indicators are never shared")
		}
		o.TLP = t
	}
	if o.Confidence < 0 || o.Confidence > 100 {
		return fmt.Errorf("confidence %d must be 1..100", o.Confidence)
	}
	if o.Confidence == 0 {
		o.Confidence = DefaultConfidence
	}
	return nil
}

// indicatorRef is an indicator object scan kept: its position and parsed
// header.
type indicatorRef struct {
	index   int
	header  objectHeader
	raw     json.RawMessage
	version string // "2.0" or "2.1"
}

type attackPattern struct {
	techniques []string
	phase      string
}

// collector gathers, in one pass over the objects, the indicators and
// what they refer to (markings, attack patterns, relationships).
type collector struct {
	opts       ImportOptions
	indicators []indicatorRef
	latest     map[string]int           // indicator id → index in indicators
	markings   map[string]string        // marking-definition id → TLP it defines
	patterns   map[string]attackPattern // attack-pattern id → ATT&CK ids
	related    map[string][]string      // object id → ids related to it, both directions
}

// objectHeader holds the common properties every STIX object has.
type objectHeader struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	SpecVersion string `json:"spec_version"`
	Created     string `json:"created"`
	Modified    string `json:"modified"`
}

func (c *collector) scan(i int, raw json.RawMessage) error {
	var h objectHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return objectErr("", i, ErrMalformed, fmt.Errorf("not a STIX object: %v", err))
	}
	if !validID(h.ID, h.Type) {
		return objectErr(clip(h.ID, 80), i, ErrMalformed, fmt.Errorf("id is not %s--<UUID>", clip(h.Type, 40)))
	}
	version := h.SpecVersion
	switch version {
	case "":
		version = "2.0" // STIX 2.1 §3.1: an object without spec_version is 2.0
	case "2.0", "2.1":
	default:
		return objectErr(h.ID, i, ErrMalformed, fmt.Errorf("spec_version %q is not 2.0 or 2.1", clip(version, 20)))
	}
	for _, ts := range []struct{ name, v string }{{"created", h.Created}, {"modified", h.Modified}} {
		if ts.v == "" {
			continue
		}
		if _, err := parseTimestamp(ts.v); err != nil {
			return objectErr(h.ID, i, ErrMalformed, fmt.Errorf("%s: %v", ts.name, err))
		}
	}
	switch h.Type {
	case "indicator":
		if h.Created == "" || h.Modified == "" {
			return objectErr(h.ID, i, ErrMalformed, errors.New("an indicator needs created and modified"))
		}
		ref := indicatorRef{index: i, header: h, raw: raw, version: version}
		if j, ok := c.latest[h.ID]; ok {
			// Several versions of one object: the latest modified wins.
			if h.Modified > c.indicators[j].header.Modified {
				c.indicators[j] = ref
			}
			return nil
		}
		c.latest[h.ID] = len(c.indicators)
		c.indicators = append(c.indicators, ref)
	case "marking-definition":
		var m markingDefinition
		if err := json.Unmarshal(raw, &m); err != nil {
			return objectErr(h.ID, i, ErrMalformed, err)
		}
		if t, ok := m.tlpOf(); ok {
			c.markings[h.ID] = t
		}
	case "attack-pattern":
		var a struct {
			ExternalReferences []externalReference `json:"external_references"`
			KillChainPhases    []killChainPhase    `json:"kill_chain_phases"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			return objectErr(h.ID, i, ErrMalformed, err)
		}
		c.patterns[h.ID] = attackPattern{techniques: attackIDs(a.ExternalReferences), phase: phaseOf(a.KillChainPhases, true)}
	case "relationship":
		var r struct {
			SourceRef string `json:"source_ref"`
			TargetRef string `json:"target_ref"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return objectErr(h.ID, i, ErrMalformed, err)
		}
		if r.SourceRef == "" || r.TargetRef == "" {
			return objectErr(h.ID, i, ErrMalformed, errors.New("a relationship needs source_ref and target_ref"))
		}
		c.related[r.SourceRef] = append(c.related[r.SourceRef], r.TargetRef)
		c.related[r.TargetRef] = append(c.related[r.TargetRef], r.SourceRef)
	}
	return nil
}

type externalReference struct {
	SourceName string `json:"source_name"`
	ExternalID string `json:"external_id"`
	URL        string `json:"url,omitempty"`
}

type killChainPhase struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

// indicatorObject holds the indicator properties import reads.
type indicatorObject struct {
	Name               string              `json:"name"`
	Pattern            string              `json:"pattern"`
	PatternType        *string             `json:"pattern_type"`
	ValidFrom          string              `json:"valid_from"`
	ValidUntil         string              `json:"valid_until"`
	KillChainPhases    []killChainPhase    `json:"kill_chain_phases"`
	Confidence         *json.Number        `json:"confidence"`
	ObjectMarkingRefs  []string            `json:"object_marking_refs"`
	GranularMarkings   []granularMarking   `json:"granular_markings"`
	ExternalReferences []externalReference `json:"external_references"`
	Revoked            bool                `json:"revoked"`
}

type granularMarking struct {
	MarkingRef string `json:"marking_ref"`
}

// indicator turns one indicator object into inputs, or says why it is
// skipped, or fails.
func (c *collector) indicator(ix indicatorRef) ([]intel.Input, *Skipped, error) {
	id, i := ix.header.ID, ix.index
	fail := func(kind error, format string, args ...any) ([]intel.Input, *Skipped, error) {
		err := fmt.Errorf(format, args...)
		var bad *valueError
		if c.opts.SkipUnshareable && kind != ErrTooLarge && (kind != ErrMalformed || errors.As(err, &bad)) {
			return nil, &Skipped{ID: id, Reason: err.Error()}, nil
		}
		return nil, nil, objectErr(id, i, kind, err)
	}
	var o indicatorObject
	if err := json.Unmarshal(ix.raw, &o); err != nil {
		return fail(ErrMalformed, "%v", err)
	}
	if o.Revoked {
		return nil, &Skipped{ID: id, Reason: "revoked by its producer"}, nil
	}
	if o.Pattern == "" {
		return fail(ErrMalformed, "an indicator needs a pattern")
	}
	if ix.version == "2.1" && o.PatternType == nil {
		return fail(ErrMalformed, "a STIX 2.1 indicator needs pattern_type")
	}
	if o.PatternType != nil && *o.PatternType != "stix" {
		return fail(ErrUnsupported, "pattern_type %q: ledgerguard reads STIX patterns only", clip(*o.PatternType, 40))
	}
	if o.ValidFrom == "" {
		return fail(ErrMalformed, "an indicator needs valid_from")
	}
	from, err := parseTimestamp(o.ValidFrom)
	if err != nil {
		return fail(ErrMalformed, "valid_from: %v", err)
	}
	var until time.Time
	if o.ValidUntil != "" {
		if until, err = parseTimestamp(o.ValidUntil); err != nil {
			return fail(ErrMalformed, "valid_until: %v", err)
		}
		if !until.After(from) {
			return fail(ErrMalformed, "valid_until %s is not after valid_from %s", o.ValidUntil, o.ValidFrom)
		}
	}
	confidence := c.opts.Confidence
	if o.Confidence != nil {
		n, err := o.Confidence.Int64()
		if err != nil || n < 0 || n > 100 {
			return fail(ErrMalformed, "confidence %s must be an integer 0..100", clip(o.Confidence.String(), 20))
		}
		confidence = int(n)
	}
	tlp, err := c.tlpOf(o)
	if err != nil {
		return fail(ErrMalformed, "%v", err)
	}
	if tlp == "" {
		return fail(ErrMalformed, "it carries no TLP marking: give the TLP to share unmarked indicators at")
	}
	if tlp == wire.TLPRed {
		return fail(ErrRefused, "it is marked TLP:RED, which is never shared")
	}
	recipients, err := c.recipients(tlp)
	if err != nil {
		return fail(ErrMalformed, "%v", err)
	}
	pat, err := ParsePattern(o.Pattern)
	if err != nil {
		return fail(ErrMalformed, "pattern %s: %v", clip(o.Pattern, 120), err)
	}
	obs, err := pat.Observables()
	if err != nil {
		return fail(ErrUnsupported, "pattern %s cannot be shared: %v", clip(o.Pattern, 120), err)
	}
	if len(obs) == 0 {
		return fail(ErrUnsupported, "pattern %s names no value (an empty IN set)", clip(o.Pattern, 120))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, ix.raw); err != nil {
		return fail(ErrMalformed, "%v", err)
	}
	if compact.Len() > wire.MaxStixObjectBytes {
		return fail(ErrTooLarge, "object of %d bytes exceeds the limit of %d", compact.Len(), wire.MaxStixObjectBytes)
	}
	techniques, phase := c.attackOf(id, o)
	ins := make([]intel.Input, 0, len(obs))
	for _, ob := range obs {
		v, err := wire.CanonicalIndicator(ob.Type, ob.Value)
		if err != nil {
			return fail(ErrMalformed, "pattern %s: %w", clip(o.Pattern, 120), &valueError{err})
		}
		stixID := id
		if len(obs) > 1 {
			// One object, several indicators: each needs its own STIX id
			// for export and TAXII; derive it so re-imports agree.
			stixID = "indicator--" + derivedUUID(id+"\x00"+ob.Type+"\x00"+v)
		}
		ins = append(ins, intel.Input{
			Type: ob.Type, Value: v, Confidence: confidence, TLP: tlp, Recipients: recipients,
			ValidFrom: from, ValidUntil: until, Techniques: techniques, KillChainPhase: phase,
			StixID: stixID, Stix: compact.String(),
		})
	}
	return ins, nil, nil
}

// valueError marks a value that is not valid for its indicator type
// (SkipUnshareable skips those, unlike other malformed objects).
type valueError struct{ err error }

func (e *valueError) Error() string { return e.err.Error() }
func (e *valueError) Unwrap() error { return e.err }

// tlpOf resolves an indicator's TLP: the strictest TLP among its markings
// (object and granular), at least opts.TLP; "" if neither says.
func (c *collector) tlpOf(o indicatorObject) (string, error) {
	tlp := ""
	refs := append([]string(nil), o.ObjectMarkingRefs...)
	for _, g := range o.GranularMarkings {
		refs = append(refs, g.MarkingRef)
	}
	for _, r := range refs {
		if !validID(r, "marking-definition") {
			return "", fmt.Errorf("marking reference %q is not marking-definition--<UUID>", clip(r, 80))
		}
		if t, ok := markingTLP(r, c.markings); ok {
			tlp = Stricter(tlp, t)
		}
	}
	if tlp == "" {
		return c.opts.TLP, nil
	}
	return Stricter(tlp, c.opts.TLP), nil
}

// recipients returns the organisations an indicator of this TLP goes to:
// none named for CLEAR and GREEN (every member), the sharer and the
// options' recipients for AMBER, only the sharer for AMBER+STRICT.
func (c *collector) recipients(tlp string) ([]string, error) {
	switch tlp {
	case wire.TLPAmber, wire.TLPAmberStrict:
		if c.opts.Sharer == "" {
			return nil, fmt.Errorf("TLP:%s needs the sharing organisation", tlp)
		}
		if tlp == wire.TLPAmberStrict {
			return []string{c.opts.Sharer}, nil
		}
		r := sortedUnique(append([]string{c.opts.Sharer}, c.opts.Recipients...))
		if len(r) > wire.MaxRecipients {
			return nil, fmt.Errorf("%d recipients exceed the limit of %d", len(r), wire.MaxRecipients)
		}
		return r, nil
	}
	return nil, nil
}

var attackID = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// attackIDs returns the ATT&CK technique ids among external references.
func attackIDs(refs []externalReference) []string {
	var out []string
	for _, r := range refs {
		if strings.HasPrefix(r.SourceName, "mitre-") && attackID.MatchString(r.ExternalID) {
			out = append(out, r.ExternalID)
		}
	}
	return out
}

// phaseOf returns the kill-chain phase to record: the first ATT&CK phase
// by name, else (unless attackOnly) the first phase as
// "kill_chain_name:phase_name".
func phaseOf(phases []killChainPhase, attackOnly bool) string {
	for _, p := range phases {
		if p.KillChainName == "mitre-attack" && p.PhaseName != "" {
			return p.PhaseName
		}
	}
	if attackOnly {
		return ""
	}
	for _, p := range phases {
		if p.KillChainName != "" && p.PhaseName != "" {
			return p.KillChainName + ":" + p.PhaseName
		}
	}
	return ""
}

// attackOf collects an indicator's ATT&CK techniques (its own external
// references and the attack patterns related to it by a relationship,
// either way) and its kill-chain phase (its own, else the first related
// attack pattern's). At most wire.MaxTechniques, in sorted order.
func (c *collector) attackOf(id string, o indicatorObject) ([]string, string) {
	techniques := attackIDs(o.ExternalReferences)
	phase := phaseOf(o.KillChainPhases, false)
	for _, rel := range c.related[id] {
		ap, ok := c.patterns[rel]
		if !ok {
			continue
		}
		techniques = append(techniques, ap.techniques...)
		if phase == "" {
			phase = ap.phase
		}
	}
	techniques = sortedUnique(techniques)
	if len(techniques) > wire.MaxTechniques {
		techniques = techniques[:wire.MaxTechniques]
	}
	return techniques, phase
}

// merge folds a second object's indicator with the same value into the
// first: the stricter TLP, both objects' techniques.
func merge(into *intel.Input, in intel.Input) {
	if t := Stricter(into.TLP, in.TLP); t != into.TLP {
		into.TLP, into.Recipients = t, in.Recipients
	}
	ts := sortedUnique(append(append([]string(nil), into.Techniques...), in.Techniques...))
	if len(ts) > wire.MaxTechniques {
		ts = ts[:wire.MaxTechniques]
	}
	into.Techniques = ts
}

// validID reports whether id is typ--<UUID>.
func validID(id, typ string) bool {
	t, u, ok := strings.Cut(id, "--")
	return ok && t == typ && typ != "" && isUUID(u)
}

// parseTimestamp parses a STIX timestamp: RFC 3339 in UTC ("Z").
func parseTimestamp(s string) (time.Time, error) {
	if !strings.HasSuffix(s, "Z") {
		return time.Time{}, fmt.Errorf("timestamp %q must be UTC (end in Z)", clip(s, 40))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339", clip(s, 40))
	}
	return t, nil
}

// clip shortens s for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
