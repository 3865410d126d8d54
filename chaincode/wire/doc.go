// Package wire defines the JSON shapes that cross the boundary between the
// ledgerguard gateway and its chaincode: batch anchors, checkpoints, alerts
// (and the sets the ledger stores them in) and their status changes,
// response policies and actions, response requests and outcomes, the
// chaincode event payload, consortium membership, model provenance
// registrations ([ModelRecord]) and the paginated result envelope.
// Golden files under testdata/ pin every shape; the gateway's tests read
// the same files, so a change to a shape shows up on both sides at once.
//
// The package depends on the standard library only, so the gateway (and its
// CLI) can import it to build, validate and identify records exactly as the
// chaincode will, without pulling in the Fabric shim.
//
// # Canonical JSON
//
// Records are encoded with encoding/json from structs, so fields appear in
// declaration order; the only maps are map[string]string and
// map[string]uint64, whose keys encoding/json sorts. Scores are float64:
// encoding/json formats a float64 with the shortest representation that
// round-trips (strconv 'g'-style with -1 precision), which is a pure
// function of the value, so every endorser produces identical bytes.
// Hashes are lowercase hex. Times are [Time]: RFC 3339 in UTC with exactly
// nine fractional digits, e.g. "2026-11-25T09:18:00.000000000Z".
//
// # Deterministic identifiers
//
// Every identifier is the lowercase hex SHA-256 of a domain tag followed by
// the listed fields, each field preceded by a single 0x00 byte. Integers
// are written in base 10 without leading zeros; strings as their UTF-8
// bytes (none of them may contain 0x00, which validation enforces, so the
// encoding is unambiguous):
//
//	batch id    = sha256("ledgerguard/batch/v1"    ‖ 0 ‖ msp ‖ 0 ‖ gatewayId ‖ 0 ‖ treeSizeBefore ‖ 0 ‖ treeSizeAfter ‖ 0 ‖ rootHash)
//	alert id    = sha256("ledgerguard/alert/v1"    ‖ 0 ‖ msp ‖ 0 ‖ gatewayId ‖ 0 ‖ eventHash ‖ 0 ‖ detector.modelId ‖ 0 ‖ detector.version)
//	response id = sha256("ledgerguard/response/v1" ‖ 0 ‖ alertId ‖ 0 ‖ policyId ‖ 0 ‖ policyVersion)
//
// rootHash, eventHash and alertId enter as their lowercase hex text. For
// example BatchID("Org1MSP", "gw-1", 0, 3, "aa…") hashes the bytes
// "ledgerguard/batch/v1\x00Org1MSP\x00gw-1\x000\x003\x00aa…". Use
// [BatchID], [AlertID] and [ResponseID] rather than re-implementing them.
//
// An alert is identified by the event and the model version that flagged
// it, not by the batch: a replay of the same detection is the same alert.
// The ledger addresses an alert by (batchId, alertId), though: alerts are
// stored in [AlertSet] records, one per RaiseAlerts transaction and batch,
// and the replay check is per batch. A gateway always raises an event's
// alert under the batch that anchored the event.
//
// # Alert storage
//
// An [AlertSet] holds the new alerts of one batch that one transaction
// raised, sorted by id, carrying only the gateway's fields; msp,
// gatewayId, batchId, raisedAt, raisedTx and raisedBy appear once on the
// set, and each detector's sha256 once in the set's models table (sets
// written before 2026-12-05 repeat msp, gatewayId, batchId and sha256 in
// every alert and have no table; both forms read alike). A set larger than
// 2 KiB is stored compressed ([EncodeStoredAlertSet]; read any stored set
// with [DecodeStoredAlertSet]). An analyst's decision is
// an [AlertStatusChange] (with the alert's batchId) in a small per-alert
// status record. An [Alert] as GetAlert and ListAlerts return it combines
// the two: status "open" and no lastChange until the first decision.
// [ResponseRequest] and [Response] carry the alert's batchId next to its
// alertId.
//
// # Pseudonymised fields
//
// The gateway may replace sensitive values (user names, internal IPs) with
// [Pseudonym] before submitting; the chaincode compares and templates these
// values as opaque strings and never needs the raw value.
package wire
