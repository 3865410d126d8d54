// Package keys is the chaincode's one key scheme: every record type has its
// own composite-key object type, so a partial-composite-key scan of one
// type never sees another, and no key is shared by unrelated transactions.
//
// Layout (attributes in order):
//
//	lg.batch    (batchID)                                 → batch locator (msp, gateway, size)
//	lg.gwbatch  (msp, gatewayID, treeSizeAfter%020d)      → Batch, ordered by tree size per gateway
//	lg.ckpt     (msp, gatewayID)                          → Checkpoint (written only by that gateway)
//	lg.aset     (msp, gatewayID, batchID, seq%04d)        → AlertSet: one RaiseAlerts transaction's new alerts of one batch
//	lg.astatus  (batchID, alertID)                        → AlertStatusChange, the alert's latest (written only by analysts)
//	lg.policy   (policyID, version%010d)                  → Policy version
//	lg.phead    (policyID)                                → policy head: owner, latest and active version
//	lg.active   (policyID)                                → copy of the active Policy version (≤ MaxActivePolicies keys)
//	lg.resp     (responseID)                              → Response
//	lg.rate     (policyID, sha256(target), windowStart%020d, responseID) → rate-limit mark
//	lg.members  ()                                        → Members
//	lg.mchange  (msp)                                     → MembershipChange: the latest proposal to add or remove msp
//	lg.model    (name, version)                           → ModelRecord: one model version's provenance
//	lg.hrule    (ruleID, version%010d)                    → HygieneRule version (suppress or dedup)
//	lg.hhead    (ruleID)                                  → rule head: owner, latest and active version
//	lg.hactive  (ruleID)                                  → copy of the active rule version (≤ MaxActiveHygieneRules keys)
//	lg.dedup    (msp, sha256(detector,category,asset,principal,suppressed), windowStart%020d) → DedupRecord
//	lg.ocaps    (msp)                                     → OrgCaps (written only by that org's admins)
//	lg.capmark  (msp, actionType, windowStart%020d, responseID) → org-cap mark
//	lg.intel    (indicatorID)                             → Indicator, the public record (value in private data: its valueKey pack, or the same id)
//	lg.isight   (indicatorID, msp, txID, index%04d)       → Sighting: one reported sighting, never rewritten
//	lg.ishare   (msp, sha256(share argument))             → the ShareIndicators transaction that recorded this exact share (replays write nothing)
//	lg.ipurged  (msp, indicatorID)                        → the PurgeIndicator transaction that purged it (shares scan their org's tombstones instead of reading every record)
//
// Numbers are zero-padded so lexical key order is numeric order.
package keys

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Object types of the composite keys.
const (
	Batch        = "lg.batch"
	GatewayBatch = "lg.gwbatch"
	Checkpoint   = "lg.ckpt"
	AlertSet     = "lg.aset"
	AlertStatus  = "lg.astatus"
	Policy       = "lg.policy"
	PolicyHead   = "lg.phead"
	ActivePolicy = "lg.active"
	Response     = "lg.resp"
	RateMark     = "lg.rate"
	Members      = "lg.members"
	MemberChange = "lg.mchange"
	Model        = "lg.model"
	HygieneRule  = "lg.hrule"
	HygieneHead  = "lg.hhead"
	ActiveRule   = "lg.hactive"
	Dedup        = "lg.dedup"
	OrgCaps      = "lg.ocaps"
	CapMark      = "lg.capmark"
	Indicator    = "lg.intel"
	Sighting     = "lg.isight"
	ShareDigest  = "lg.ishare"
	Purged       = "lg.ipurged"
)

// Key builds the composite key of objectType with attributes; it fails only
// on attributes Fabric forbids (invalid UTF-8, U+0000, U+10FFFF), with a
// *KeyError.
func Key(objectType string, attrs ...string) (string, error) {
	k, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return "", &KeyError{ObjectType: objectType, Err: err}
	}
	return k, nil
}

// KeyError is an attribute Fabric does not accept in a composite key.
// Attributes come from the caller's input, so it is wire.CodeInvalid.
type KeyError struct {
	ObjectType string
	Err        error
}

// Error implements error.
func (e *KeyError) Error() string { return fmt.Sprintf("build %s key: %v", e.ObjectType, e.Err) }

// Unwrap returns Fabric's error.
func (e *KeyError) Unwrap() error { return e.Err }

// ErrorCode implements wire.Coder: wire.CodeInvalid.
func (e *KeyError) ErrorCode() wire.Code { return wire.CodeInvalid }

// Uint20 formats n zero-padded to 20 digits (the width of max uint64).
func Uint20(n uint64) string { return fmt.Sprintf("%020d", n) }

// SetSeq formats an alert set's sequence number (< 10,000) zero-padded to
// four digits.
func SetSeq(n int) string { return fmt.Sprintf("%04d", n) }

// Uint10 formats n zero-padded to 10 digits (the width of max uint32).
func Uint10(n uint32) string { return fmt.Sprintf("%010d", n) }

// Digest returns the lowercase hex SHA-256 of s: free text (a rate-limit
// target) becomes a fixed-size, always-valid key attribute.
func Digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
