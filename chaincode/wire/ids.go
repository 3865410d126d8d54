package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Domain tags keep the three id spaces apart: equal fields can never give
// a batch and an alert the same id.
const (
	batchDomain    = "ledgerguard/batch/v1"
	alertDomain    = "ledgerguard/alert/v1"
	responseDomain = "ledgerguard/response/v1"
)

// digest hashes the domain tag and each field, each field preceded by 0x00
// (see the package documentation for the exact encoding).
func digest(domain string, fields ...string) string {
	sum := digestSum(domain, fields...)
	return hex.EncodeToString(sum[:])
}

// isAlertID reports whether id is AlertID(msp, gatewayID, eventHash,
// modelID, modelVersion), without allocating the id it compares with
// (Validate checks every raised alert's id).
func isAlertID(id, msp, gatewayID, eventHash, modelID, modelVersion string) bool {
	if len(id) != 2*sha256.Size {
		return false
	}
	sum := digestSum(alertDomain, msp, gatewayID, eventHash, modelID, modelVersion)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:]) == id
}

// digestSum is digest's SHA-256, before its hex encoding.
func digestSum(domain string, fields ...string) [sha256.Size]byte {
	n := len(domain)
	for _, f := range fields {
		n += 1 + len(f)
	}
	var stack [512]byte
	buf := stack[:0]
	if n > len(stack) {
		buf = make([]byte, 0, n)
	}
	buf = append(buf, domain...)
	for _, f := range fields {
		buf = append(buf, 0)
		buf = append(buf, f...)
	}
	return sha256.Sum256(buf)
}

// BatchID returns the deterministic id of a batch anchor. rootHash must be
// lowercase hex; the chaincode recomputes this id and refuses a mismatch.
func BatchID(msp, gatewayID string, treeSizeBefore, treeSizeAfter uint64, rootHash string) string {
	return digest(batchDomain, msp, gatewayID,
		strconv.FormatUint(treeSizeBefore, 10), strconv.FormatUint(treeSizeAfter, 10), rootHash)
}

// AlertID returns the deterministic id of an alert: one alert per event
// (eventHash, lowercase hex) per detector model version per gateway.
func AlertID(msp, gatewayID, eventHash, modelID, modelVersion string) string {
	return digest(alertDomain, msp, gatewayID, eventHash, modelID, modelVersion)
}

// ResponseID returns the deterministic id of the response request that
// policy version policyVersion makes for alertID, so re-evaluating the same
// alert against the same policy version can never request twice.
func ResponseID(alertID, policyID string, policyVersion uint32) string {
	return digest(responseDomain, alertID, policyID, strconv.FormatUint(uint64(policyVersion), 10))
}

// PseudonymPrefix marks a value the gateway pseudonymised with [Pseudonym].
const PseudonymPrefix = "hmac-sha256:"

// Pseudonym returns "hmac-sha256:" followed by the lowercase hex
// HMAC-SHA256 of value under key. Equal values give equal pseudonyms under
// one key, so policies can still compare them, while the ledger never sees
// the raw value. The key stays with the gateway's operator.
func Pseudonym(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return PseudonymPrefix + hex.EncodeToString(m.Sum(nil))
}
