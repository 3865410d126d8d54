package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// maxIntelReasonLen bounds a revocation reason (free text).
const maxIntelReasonLen = 1024

// IsTLP reports whether t is a TLP 2.0 marking the ledger accepts
// (every one but RED, which is never shared).
func IsTLP(t string) bool {
	switch t {
	case TLPClear, TLPGreen, TLPAmber, TLPAmberStrict:
		return true
	}
	return false
}

// IsAmber reports whether t restricts an indicator to named recipients.
func IsAmber(t string) bool { return t == TLPAmber || t == TLPAmberStrict }

// VisibleTo reports whether organisation msp may see the indicator's
// public record and read its value: every member for CLEAR and GREEN,
// only the named recipients for AMBER and AMBER+STRICT.
func (ind *Indicator) VisibleTo(msp string) bool {
	if !IsAmber(ind.TLP) {
		return true
	}
	return slices.Contains(ind.Recipients, msp)
}

// Collection returns the private data collection holding the value as
// organisation reader's peer sees it: [CollectionIntelShared] for CLEAR
// and GREEN, the reader's implicit collection for AMBER (each recipient
// holds its own copy).
func (ind *Indicator) Collection(reader string) string {
	if IsAmber(ind.TLP) {
		return ImplicitCollection(reader)
	}
	return CollectionIntelShared
}

// StatusAt returns the indicator's status at time now: revoked and purged
// as stored, expired once ValidUntil has passed, active otherwise.
func (ind *Indicator) StatusAt(now Time) string {
	switch ind.Status {
	case IndicatorRevoked, IndicatorPurged:
		return ind.Status
	}
	if !ind.ValidUntil.IsZero() && !now.Before(ind.ValidUntil.Time) {
		return IndicatorExpired
	}
	return IndicatorActive
}

// Validate checks the fields a sharer supplies (see [Indicator]); field
// names the indicator in errors (e.g. "indicators[3]"). The fields the
// ledger sets must be empty. It does not check ID against the sharer
// (the chaincode derives the sharer from the creator).
func (ind *Indicator) Validate(field string) error {
	if !IsIndicatorType(ind.Type) {
		return invalid(field+".type", "%q is not one of %v", truncate(ind.Type, 40), IndicatorTypes)
	}
	if err := checkHash(field+".hash", ind.Hash); err != nil {
		return err
	}
	if err := checkHash(field+".id", ind.ID); err != nil {
		return err
	}
	if err := checkToken(field+".keyId", ind.KeyID, 64); err != nil {
		return err
	}
	if ind.Confidence < 0 || ind.Confidence > 100 {
		return invalid(field+".confidence", "%d must be 0..100", ind.Confidence)
	}
	switch {
	case ind.TLP == TLPRed:
		return invalid(field+".tlp", "TLP:RED indicators are never shared on the ledger")
	case !IsTLP(ind.TLP):
		return invalid(field+".tlp", "%q must be CLEAR, GREEN, AMBER or AMBER+STRICT", truncate(ind.TLP, 40))
	}
	if len(ind.Recipients) > MaxRecipients {
		return invalid(field+".recipients", "%d exceeds the limit of %d", len(ind.Recipients), MaxRecipients)
	}
	if !IsAmber(ind.TLP) && len(ind.Recipients) > 0 {
		return invalid(field+".recipients", "only AMBER and AMBER+STRICT name recipients (%s goes to every member)", ind.TLP)
	}
	if IsAmber(ind.TLP) && len(ind.Recipients) == 0 {
		return invalid(field+".recipients", "%s needs its recipients (including the sharer)", ind.TLP)
	}
	for i, r := range ind.Recipients {
		if err := checkToken(fmt.Sprintf("%s.recipients[%d]", field, i), r, 128); err != nil {
			return err
		}
		if slices.Contains(ind.Recipients[:i], r) {
			return invalid(fmt.Sprintf("%s.recipients[%d]", field, i), "%q is listed twice", r)
		}
	}
	if ind.ValidFrom.IsZero() {
		return invalid(field+".validFrom", "is required")
	}
	if !ind.ValidUntil.IsZero() && !ind.ValidUntil.After(ind.ValidFrom.Time) {
		return invalid(field+".validUntil", "%s is not after validFrom %s", ind.ValidUntil, ind.ValidFrom)
	}
	if len(ind.Techniques) > MaxTechniques {
		return invalid(field+".techniques", "%d exceeds the limit of %d", len(ind.Techniques), MaxTechniques)
	}
	for i, t := range ind.Techniques {
		if !isTechnique(t) {
			return invalid(fmt.Sprintf("%s.techniques[%d]", field, i), "%q is not an ATT&CK technique id (T1234 or T1234.001)", truncate(t, 40))
		}
	}
	if ind.KillChainPhase != "" {
		if err := checkToken(field+".killChainPhase", ind.KillChainPhase, 128); err != nil {
			return err
		}
	}
	if err := checkText(field+".stixId", ind.StixID, 256, false); err != nil {
		return err
	}
	if err := checkHash(field+".valueHash", ind.ValueHash); err != nil {
		return err
	}
	if ind.SharedAt != (Time{}) || ind.SharedTx != "" || ind.Status != "" || ind.RevokedAt != (Time{}) ||
		ind.RevokedTx != "" || ind.PurgedAt != (Time{}) || ind.PurgedTx != "" || ind.ValueKey != "" || ind.Value != "" || ind.Stix != "" ||
		ind.Salt != "" || ind.ValueOnLedger {
		return invalid(field, "sharedAt, sharedTx, status, revoked*, purged*, valueKey, value, stix, salt and valueOnLedger are set by the ledger, not the sharer")
	}
	return nil
}

// isTechnique accepts ATT&CK technique ids: T and four digits, optionally
// a dot and three digits.
func isTechnique(s string) bool {
	if len(s) != 5 && len(s) != 9 || s[0] != 'T' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if i == 5 {
			if c != '.' {
				return false
			}
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Bytes returns the value record as the ledger stores it in a private
// data collection: its JSON encoding, so sharer and chaincode compute the
// same [Indicator.ValueHash].
func (v *IndicatorValue) Bytes() []byte {
	b, _ := json.Marshal(v) // a struct of strings always encodes
	return b
}

// ValueHash returns the lowercase hex SHA-256 of [IndicatorValue.Bytes]:
// what Fabric's GetPrivateDataHash returns for the stored record.
func (v *IndicatorValue) ValueHash() string { return ValueHashOf(v.Bytes()) }

// ValueHashOf returns the lowercase hex SHA-256 of stored, a value
// record's [IndicatorValue.Bytes]: its [IndicatorValue.ValueHash] for a
// caller that already encoded it.
func ValueHashOf(stored []byte) string {
	sum := sha256.Sum256(stored)
	return hex.EncodeToString(sum[:])
}

// Check validates a private value against its public record ind under the
// consortium key: same id, hash and type; a canonical value of bounded
// size whose keyed hash is ind.Hash; a 32-byte hex salt; a bounded STIX
// object; and a record whose SHA-256 is ind.ValueHash. field names the
// value in errors.
func (v *IndicatorValue) Check(field string, ind *Indicator, key []byte) error {
	return v.CheckStored(field, ind, key, v.Bytes())
}

// CheckStored is [IndicatorValue.Check] for a caller that already holds
// the value's stored bytes: stored must be v.Bytes() (the chaincode
// encodes each shared value once, for its valueHash and its value pack,
// instead of once per use), and its SHA-256 is what is compared with
// ind.ValueHash.
func (v *IndicatorValue) CheckStored(field string, ind *Indicator, key, stored []byte) error {
	if v.ID != ind.ID || v.Hash != ind.Hash || v.Type != ind.Type {
		return invalid(field, "id, hash and type must be those of indicator %s", ind.ID)
	}
	if len(v.Value) > MaxIndicatorValueLen {
		return invalid(field+".value", "%d bytes exceeds the limit of %d", len(v.Value), MaxIndicatorValueLen)
	}
	canon, err := CanonicalIndicator(v.Type, v.Value)
	if err != nil {
		return invalid(field+".value", "%v", err)
	}
	if canon != v.Value {
		return invalid(field+".value", "is not canonical (canonical form differs)")
	}
	if !hmac.Equal([]byte(IndicatorHash(key, v.Type, v.Value)), []byte(ind.Hash)) {
		return invalid(field+".value", "its keyed hash under key %q is not the indicator's hash", ind.KeyID)
	}
	if !IsHash(v.Salt) {
		return invalid(field+".salt", "must be 32 random bytes as 64 lowercase hex digits")
	}
	if len(v.Stix) > MaxStixObjectBytes {
		return invalid(field+".stix", "%d bytes exceeds the limit of %d", len(v.Stix), MaxStixObjectBytes)
	}
	if v.Stix != "" && !json.Valid([]byte(v.Stix)) {
		return invalid(field+".stix", "is not JSON")
	}
	if got := ValueHashOf(stored); got != ind.ValueHash {
		return invalid(field, "its SHA-256 %s is not the indicator's valueHash %s", got, ind.ValueHash)
	}
	return nil
}

// Bytes decodes the key's hex secret (at least 16 bytes).
func (k IntelKey) Bytes() ([]byte, error) {
	b, err := hex.DecodeString(k.Secret)
	if err != nil || len(b) < 16 {
		return nil, invalid("intel.key.secret", "must be at least 16 bytes as hex")
	}
	return b, nil
}

// Validate checks a sighting as its reporter supplies it; field names it
// in errors.
func (s *Sighting) Validate(field string) error {
	if err := checkHash(field+".indicatorId", s.IndicatorID); err != nil {
		return err
	}
	if s.Count < 1 {
		return invalid(field+".count", "%d must be at least 1", s.Count)
	}
	if s.FirstSeen.IsZero() || s.LastSeen.IsZero() {
		return invalid(field, "firstSeen and lastSeen are required")
	}
	if s.LastSeen.Before(s.FirstSeen.Time) {
		return invalid(field+".lastSeen", "%s is before firstSeen %s", s.LastSeen, s.FirstSeen)
	}
	if s.ReportedBy != "" || s.ReportedAt != (Time{}) || s.ReportedTx != "" {
		return invalid(field, "reportedBy, reportedAt and reportedTx are set by the ledger, not the reporter")
	}
	return nil
}

// ValidateIntelReason checks a revocation reason: required free text.
func ValidateIntelReason(reason string) error {
	return checkText("reason", reason, maxIntelReasonLen, true)
}

// IndicatorFilter selects indicators in ListIndicators; empty fields match
// everything.
type IndicatorFilter struct {
	Type     string `json:"type,omitempty"`
	TLP      string `json:"tlp,omitempty"`
	SharedBy string `json:"sharedBy,omitempty"`
}

// Match reports whether ind passes the filter.
func (f *IndicatorFilter) Match(ind *Indicator) bool {
	return (f.Type == "" || f.Type == ind.Type) && (f.TLP == "" || f.TLP == ind.TLP) &&
		(f.SharedBy == "" || f.SharedBy == ind.SharedBy)
}

// IndicatorShareResult is what ShareIndicators returns: how many records
// it wrote and how many it left as they were (a replay). It carries no
// records: a transaction's result is part of its block, and the records
// are already there as its argument and its writes.
type IndicatorShareResult struct {
	Shared    int `json:"shared"`
	Unchanged int `json:"unchanged"`
}
