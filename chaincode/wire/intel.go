package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// Threat intelligence on the wire: the intel contract's public records,
// the private values it keeps in Fabric private data collections, the
// transient-map keys that carry those values, and the chaincode event it
// emits. See the intel contract's package doc for the threat model.
//
// Where each part of an indicator lives:
//
//   - Public world state ([Indicator]): the keyed hash of the canonical
//     value, its type, TLP, confidence, validity, ATT&CK techniques,
//     kill-chain phase, STIX id, sharing organisation and recipients. Never
//     the value.
//   - Private data ([IndicatorValue]): the canonical value, the full STIX
//     object and a random salt. TLP CLEAR and GREEN go to
//     [CollectionIntelShared] (every member) in the ShareIndicators
//     transaction itself, several values per private key
//     ([Indicator.ValueKey]). AMBER and AMBER+STRICT go to the implicit
//     collection of each recipient organisation ([ImplicitCollection]) in
//     a separate StoreIndicatorValues transaction endorsed only by the
//     recipients, so no other member's peer ever simulates it (a
//     transient map is visible to every endorser). RED is refused.
//   - Transient map: [TransientIntelValues] (a JSON array of
//     [IndicatorValue]) and [TransientIntelKey] (the consortium key as
//     [IntelKey], so endorsers can check each value's hash). Neither is
//     ever written to a block.
//   - Chaincode events ([IntelEvent]): ids, hashes and types only.

// Private data collections and transient-map keys of the intel contract.
const (
	// CollectionIntelShared holds the values of CLEAR and GREEN
	// indicators; its member policy lists every member organisation
	// (scripts/collections.sh writes it from the membership).
	CollectionIntelShared = "intelShared"
	// TransientIntelValues carries a JSON array of [IndicatorValue].
	TransientIntelValues = "intel.values"
	// TransientIntelKey carries the consortium key as JSON [IntelKey] so
	// endorsers can verify every value's keyed hash.
	TransientIntelKey = "intel.key"
	// TransientIntelShare carries the JSON [IndicatorShare] when
	// ShareIndicators is called with an empty argument: the public
	// records are in the block once, as written, not also as input.
	TransientIntelShare = "intel.share"
)

// ImplicitCollection returns the name of Fabric's implicit private data
// collection of the organisation msp: only that organisation's peers hold
// its data, and writes to it need only that organisation's endorsement.
func ImplicitCollection(msp string) string { return "_implicit_org_" + msp }

// Indicator types.
const (
	IndicatorIPv4      = "ipv4"
	IndicatorIPv6      = "ipv6"
	IndicatorCIDR      = "cidr"
	IndicatorDomain    = "domain"
	IndicatorURL       = "url"
	IndicatorSHA256    = "file-sha256"
	IndicatorSHA1      = "file-sha1"
	IndicatorMD5       = "file-md5"
	IndicatorEmail     = "email"
	IndicatorJA3       = "ja3"
	IndicatorJA4       = "ja4"
	IndicatorUserAgent = "user-agent"
)

// IndicatorTypes lists every indicator type, in a fixed order.
var IndicatorTypes = []string{
	IndicatorIPv4, IndicatorIPv6, IndicatorCIDR, IndicatorDomain, IndicatorURL,
	IndicatorSHA256, IndicatorSHA1, IndicatorMD5, IndicatorEmail,
	IndicatorJA3, IndicatorJA4, IndicatorUserAgent,
}

// IsIndicatorType reports whether t is one of [IndicatorTypes].
func IsIndicatorType(t string) bool { return slices.Contains(IndicatorTypes, t) }

// TLP 2.0 markings.
const (
	TLPClear       = "CLEAR"
	TLPGreen       = "GREEN"
	TLPAmber       = "AMBER"
	TLPAmberStrict = "AMBER+STRICT"
	TLPRed         = "RED"
)

// Indicator statuses as reads report them. Expiry is computed from
// ValidUntil against the reading transaction's time; revoked and purged
// are stored.
const (
	IndicatorActive  = "active"
	IndicatorExpired = "expired"
	IndicatorRevoked = "revoked"
	IndicatorPurged  = "purged"
)

// Limits on indicators; they bound one transaction and one record.
const (
	MaxIndicatorsPerTx   = 2000
	MaxSightingsPerTx    = 2000
	MaxIndicatorValueLen = 2048
	MaxStixObjectBytes   = 64 << 10
	MaxTechniques        = 16
	MaxRecipients        = 64
)

// IntelKey is the consortium's indicator key: members hold it off the
// ledger (gateway configuration); ID names it so the key can be rotated
// and each [Indicator] says which key hashed it. Secret is hex.
type IntelKey struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// IndicatorHash returns the keyed hash of an indicator: lowercase hex
// HMAC-SHA256 under key of "ledgerguard/indicator/v1" ‖ 0 ‖ type ‖ 0 ‖
// canonical value. value must already be canonical ([CanonicalIndicator]).
func IndicatorHash(key []byte, typ, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ledgerguard/indicator/v1\x00"))
	m.Write([]byte(typ))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// IndicatorID returns the id of the indicator record an organisation
// shared: sha256("ledgerguard/indicator-id/v1" ‖ 0 ‖ sharedBy ‖ 0 ‖ hash).
// Two organisations sharing the same value hold two records; one
// organisation sharing it again updates its record (history keeps both).
func IndicatorID(sharedBy, hash string) string {
	return digest("ledgerguard/indicator-id/v1", sharedBy, hash)
}

// Indicator is the public record of one shared indicator. The sharer
// fills the fields down to StixID; the ledger sets the rest from the
// transaction (SharedBy from the creator's MSP, never from input). ID,
// Type, ValueHash and SharedBy are omitted from JSON only when empty,
// i.e. in a share that leaves them to the ledger ([IndicatorShare]):
// every record the ledger returns has them.
type Indicator struct {
	ID             string   `json:"id,omitempty"`
	Hash           string   `json:"hash"`
	KeyID          string   `json:"keyId"`
	Type           string   `json:"type,omitempty"`
	Confidence     int      `json:"confidence"`
	TLP            string   `json:"tlp"`
	Recipients     []string `json:"recipients,omitempty"`
	ValidFrom      Time     `json:"validFrom"`
	ValidUntil     Time     `json:"validUntil,omitzero"`
	Techniques     []string `json:"techniques,omitempty"`
	KillChainPhase string   `json:"killChainPhase,omitempty"`
	StixID         string   `json:"stixId"`
	// ValueHash is the lowercase hex SHA-256 of the private value record
	// as stored ([IndicatorValue.Bytes]): what Fabric's
	// GetPrivateDataHash returns and every block's hashed private write
	// carries. It stays after a purge, so whoever kept the value can still
	// prove it was the one shared; the salt keeps it from confirming a
	// guess.
	ValueHash string `json:"valueHash,omitempty"`

	SharedBy  string `json:"sharedBy,omitempty"`
	SharedAt  Time   `json:"sharedAt,omitzero"`
	SharedTx  string `json:"sharedTx,omitempty"`
	Status    string `json:"status,omitempty"`
	RevokedAt Time   `json:"revokedAt,omitzero"`
	RevokedTx string `json:"revokedTx,omitempty"`
	PurgedAt  Time   `json:"purgedAt,omitzero"`
	PurgedTx  string `json:"purgedTx,omitempty"`
	// ValueKey is the private key of the value pack holding a CLEAR or
	// GREEN value (the intel contract stores a share's values in packs,
	// each an array of [IndicatorValue.Bytes]); empty means the value
	// is under the indicator's id (AMBER, and records of earlier
	// versions).
	ValueKey string `json:"valueKey,omitempty"`

	// Value and Stix are filled by reads only, when the caller's
	// organisation may read the indicator's collection and its peer holds
	// the private value; never stored in the public record.
	Value string `json:"value,omitempty"`
	Stix  string `json:"stix,omitempty"`
	Salt  string `json:"salt,omitempty"`
	// ValueOnLedger is set by reads when the value is stored and
	// unchanged: for a value under its own key, the reading peer's hashed
	// private state (GetPrivateDataHash) holds ValueHash; for a packed
	// value (ValueKey), the pack's entry hashes to ValueHash, or, on a
	// peer that does not yet hold the pack, the pack's hash is on the
	// ledger. False after a purge.
	ValueOnLedger bool `json:"valueOnLedger,omitempty"`
}

// IndicatorValue is the private half of an indicator, stored under the
// indicator's id in its collection. Salt is 32 random bytes (hex) chosen by
// the sharer: blocks carry the SHA-256 of every private write, and the salt
// keeps that hash from being checked against guessed values.
type IndicatorValue struct {
	ID    string `json:"id"`
	Hash  string `json:"hash"`
	Type  string `json:"type"`
	Value string `json:"value"`
	Salt  string `json:"salt"`
	Stix  string `json:"stix,omitempty"`
}

// IndicatorShare is the ShareIndicators argument: the public parts of a
// batch of indicators (their values travel in the transient map).
//
// A record may leave out what the ledger derives (chaincode versions from
// the stored record form on; earlier ones refuse such a share as
// invalid): its id (from the sharer and hash), its sharedBy, and for
// CLEAR and GREEN records, whose values travel with the share, its type
// and valueHash (from the value with the record's id and hash). Every
// share is a few hundred kilobytes in each endorser's proposal and
// chaincode process, so the gateway leaves them out.
type IndicatorShare struct {
	Indicators []Indicator `json:"indicators"`
}

// Sighting is one report that an organisation's telemetry matched an
// indicator: how often and when, never the telemetry. The reporter fills
// IndicatorID, Count, FirstSeen and LastSeen; the ledger sets the rest.
type Sighting struct {
	IndicatorID string `json:"indicatorId"`
	Count       int64  `json:"count"`
	FirstSeen   Time   `json:"firstSeen"`
	LastSeen    Time   `json:"lastSeen"`

	ReportedBy string `json:"reportedBy,omitempty"`
	ReportedAt Time   `json:"reportedAt,omitzero"`
	ReportedTx string `json:"reportedTx,omitempty"`
}

// SightingReport is the ReportSightings argument.
type SightingReport struct {
	Sightings []Sighting `json:"sightings"`
}

// DetectorIntelMatch is the detector model id of the alerts a gateway
// raises when an event's observable matches a shared indicator. Such an
// alert's detector version is the indicator's id and its sha256 the
// indicator's keyed hash, so the alert cites the indicator it matched;
// the ledger checks the id against the hash and the sharer named in the
// alert's field [AlertFieldIntelSharedBy] instead of the batch's model
// list.
const DetectorIntelMatch = "intel-match"

// Alert fields of intel-match alerts.
const (
	AlertFieldIntelSharedBy   = "intel_shared_by"
	AlertFieldIntelType       = "intel_type"
	AlertFieldIntelTLP        = "intel_tlp"
	AlertFieldIntelConfidence = "intel_confidence"
	AlertFieldIntelField      = "intel_field"
)

// EventIntelChanged is the name of the intel contract's chaincode event.
const EventIntelChanged = "IntelChanged"

// Kinds of [IntelEvent].
const (
	IntelShared   = "shared"
	IntelValues   = "values"
	IntelRevoked  = "revoked"
	IntelPurged   = "purged"
	IntelSighting = "sighting"
)

// IntelEvent is the payload of [EventIntelChanged]: what changed, by
// reference only. Chaincode events are public, so it carries ids, hashes,
// types, TLP and recipients, never a value.
//
// A share's event ([IntelShared]) names its sharer once (SharedBy) and
// each indicator by id, TLP and recipients only: it is in the block with
// every indicator of the share, and readers find the rest in the record.
// The other kinds (and shares recorded by chaincode versions before this
// form) carry full references and no SharedBy.
type IntelEvent struct {
	Kind       string         `json:"kind"`
	SharedBy   string         `json:"sharedBy,omitempty"`
	Indicators []IndicatorRef `json:"indicators"`
}

// IndicatorRef names one indicator in an [IntelEvent]. ID and TLP are
// always there (and Recipients for AMBER); Hash, Type, SharedBy and
// ValidUntil are left out of a share's event (see [IntelEvent]).
type IndicatorRef struct {
	ID         string   `json:"id"`
	Hash       string   `json:"hash,omitempty"`
	Type       string   `json:"type,omitempty"`
	TLP        string   `json:"tlp"`
	Recipients []string `json:"recipients,omitempty"`
	SharedBy   string   `json:"sharedBy,omitempty"`
	ValidUntil Time     `json:"validUntil,omitzero"`
}
