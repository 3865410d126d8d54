// Package intel is the "intel" contract: threat-intelligence indicators
// members share with each other, their revocation and purge, and the
// sightings members report back.
//
// Where each part lives (see chaincode/wire's intel.go for the shapes):
// the public record (wire.Indicator: keyed hash, type, TLP, recipients,
// confidence, validity, techniques, sharer) in the world state under
// lg.intel(id), in chaincode/internal/intelrec's stored form (records of
// earlier versions, in wire JSON or its earlier stored form, read the same); the canonical value, its STIX object and a random salt
// (wire.IndicatorValue) in a private data collection — "intelShared"
// (every member) for CLEAR and GREEN, written by ShareIndicators itself
// in value packs of up to 32 values per private key, named by the
// record's valueKey (pack.go says why and how a purge still removes
// every copy); for AMBER and AMBER+STRICT the implicit collection of each
// recipient organisation under the indicator's id, written by
// StoreIndicatorValues. Values only ever arrive in the transient map.
//
// Why AMBER values take a second transaction: a transient map is handed to
// every endorser, and every transaction that writes public state needs
// both organisations' endorsement (the chaincode's policy). A transaction
// that writes only implicit-collection keys is validated against each of
// those collections' endorsement policy alone — in Fabric 2.5 the owning
// organisation's Endorsement policy
// (lifecycle.ValidatorCommitter.CollectionValidationInfo; the chaincode
// policy is checked only when nothing else was: FAB-9473) — so
// StoreIndicatorValues, endorsed by the recipients only and writing no
// public key, never shows the values to a non-recipient's peer.
//
// Guarantees:
//   - the sharing organisation is the creator's MSP, never input: every
//     record's id is wire.IndicatorID(creator MSP, hash), and a record
//     naming another id is refused;
//   - TLP RED is refused; CLEAR and GREEN name no recipients; AMBER names
//     recipients that are consortium members and include the sharer;
//     AMBER+STRICT names exactly the sharer;
//   - every value is checked against its public record under the
//     consortium key the transient map carries (keyed hash, canonical
//     form, SHA-256 of the stored record = valueHash); the key is never
//     stored, and a mismatch refuses the whole batch (nothing is shared
//     partially);
//   - reads (GetIndicator, ListIndicators, GetSightings) show an AMBER
//     record only to its recipients, and fill in a value only from the
//     collection the caller's organisation belongs to;
//   - only the sharing organisation revokes or purges; a purge removes the
//     value from every collection and value pack holding it — those its
//     record names now and those any earlier version of the record named
//     (the key's history) — with Fabric's PurgePrivateData, which also
//     drops their past versions, while the public record with its keyed
//     hash and valueHash stays, as does its history; a purged indicator
//     is not shared again (its sharer's tombstone, lg.ipurged, says so);
//   - one IntelChanged chaincode event per transaction, carrying ids,
//     hashes, types, TLP and recipients, never a value;
//   - sightings are stored one key per reported sighting
//     (lg.isight(indicator, msp, tx, index)), so concurrent reports never
//     conflict; they carry counts and times, never telemetry.
//
// Threat model. The keyed hash (HMAC-SHA256 under a consortium key every
// member holds off the ledger; records name the key id so it can rotate)
// keeps the values from the orderer organisation, from anyone who reads
// blocks or a peer's world state without the key, and from outsiders. It
// does not keep them from members: low-entropy values are enumerable by
// any key holder (all of IPv4 is about 8 minutes of HMAC on a 2-core
// machine), so a member outside an AMBER group who sees the keyed hash
// can confirm a guess. What each party learns:
//   - the orderer organisation and any reader of blocks: types, TLP,
//     recipients, confidence, validity, techniques, sharers, keyed hashes,
//     valueHashes (salted, so unconfirmable) and sighting counts — never
//     a value (values travel in transient maps; blocks carry only SHA-256
//     of salted private records);
//   - a member outside an AMBER group: the same (the keyed hash sits in
//     every peer's world state even though reads hide the record), hence
//     it can test guesses of low-entropy values against the hash; it never
//     receives the value, its peer never simulates a transaction carrying
//     it, and its gossip never receives the implicit collection;
//   - a member inside the group (or any member for CLEAR/GREEN): the
//     value, its STIX object and who shared it.
//
// Round trips. Every shim call (GetState, PutState, ...) is one gRPC
// round trip between the chaincode and each endorsing peer, and Fabric
// 2.5's peers and shim (fabric-chaincode-go v2.0) batch neither reads
// nor writes (GetMultipleStates and write batches arrived with Fabric
// 3.1), so a share's cost is counted in round trips. A CLEAR or GREEN
// indicator costs one — the PutState of its record — plus one private
// write per value pack of 32 (pack.go): the share does not read the
// record it replaces. What that read used to prove is proven otherwise:
//   - a replay (the same share argument by the same organisation, e.g. a
//     gateway retrying a submit whose outcome it lost) finds its digest
//     key lg.ishare(msp, sha256(share)) and writes nothing;
//   - a purged indicator is refused by its sharer's tombstones
//     (lg.ipurged(msp, id)), scanned once per share; Fabric runs the scan
//     again at validation, so a purge committed meanwhile invalidates
//     the share (a phantom read);
//   - a value a re-share replaces may stay in its earlier pack (the same
//     collection, readable by the same members) until the indicator is
//     purged or becomes AMBER; either finds every such pack in the
//     record's history.
//
// AMBER records are still read before they are written, with the key's
// history: a value that was CLEAR or GREEN must leave intelShared at once
// when it becomes AMBER, not at a purge, from every pack any earlier
// version of its record named (re-shares do not take old copies out). The share's records travel in the transient map
// (wire.TransientIntelShare) so the block holds each record once, as
// written, not also as the transaction's argument.
//
// Bytes. Apart from the round trips, a share's cost follows its bytes:
// every endorser receives the proposal (records and values) and hashes
// it, and the block (each record as written, and the event) is hashed
// for every signature, copied through each protobuf layer and stored by
// every orderer and peer. So a share's records may leave out what the
// chaincode derives (derive), records are stored in intelrec's compact
// form, and a share's event names each indicator by id, TLP and
// recipients only.
//
// Ledgers written before tombstones: records and value packs read as
// before; an indicator purged then has no tombstone, so purging it again
// (a no-op otherwise) writes one, after which shares refuse it.
//
// Expiry is computed at read time from validUntil against the reading
// transaction's timestamp (status "expired"); nothing is rewritten when
// an indicator expires.
package intel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/contract"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/intelrec"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgerview"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Contract is the intel contract, registered as "intel".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	return &Contract{Contract: contract.Named(wire.ContractIntel)}
}

// ShareIndicators records a batch of indicators (shareJSON is a
// wire.IndicatorShare; "" means it is in the transient map under
// wire.TransientIntelShare, which keeps it out of the block, where the
// records as written are already) as the caller's organisation. The
// values of its CLEAR and GREEN indicators must be in the transient map
// under wire.TransientIntelValues (a JSON array of wire.IndicatorValue)
// with the consortium key under wire.TransientIntelKey; AMBER values must
// not be (they go to StoreIndicatorValues). The very share recorded
// before (the same argument, by the same organisation) is a replay and
// writes nothing, even after a revoke (share new content to activate an
// indicator again); any other share of an indicator replaces its record
// (the key's history keeps the earlier one), and an AMBER one shared
// again with identical content is left as it is. Returns a
// wire.IndicatorShareResult.
func (c *Contract) ShareIndicators(ctx contractapi.TransactionContextInterface, shareJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxShareIndicators, access.Intel, func(tx contract.Call) (wire.IndicatorShareResult, error) { return share(tx, shareJSON) })
}

func share(c contract.Call, shareJSON string) (res wire.IndicatorShareResult, err error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if shareJSON == "" {
		// The share travels in the transient map (wire.TransientIntelShare):
		// the block then carries each record once, as written, instead
		// of also as the transaction's argument.
		tm, err := stub.GetTransient()
		if err != nil {
			return res, &state.LedgerError{Op: "read transient", Err: err}
		}
		raw, ok := tm[wire.TransientIntelShare]
		if !ok {
			return res, &wire.ValidationError{Field: "share", Reason: "is required, as the argument or in transient " + wire.TransientIntelShare}
		}
		shareJSON = string(raw)
	}
	in, err := decodeShare([]byte(shareJSON))
	if err != nil {
		return res, err
	}
	n := len(in.Indicators)
	if n == 0 || n > wire.MaxIndicatorsPerTx {
		return res, &wire.ValidationError{Field: "indicators", Reason: fmt.Sprintf("%d indicators; a share holds 1..%d", n, wire.MaxIndicatorsPerTx)}
	}
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return res, err
	}
	needValues := 0
	for i := range in.Indicators {
		if !wire.IsAmber(in.Indicators[i].TLP) {
			needValues++
		}
	}
	values, key, err := transientValues(stub, needValues > 0)
	if err != nil {
		return res, err
	}
	byID := make(map[string]*wire.IndicatorValue, len(values))
	// Each value's stored bytes (its JSON), encoded once: its valueHash
	// (derive, Check) and its value pack use the same bytes.
	stored := make(map[string][]byte, len(values))
	for i := range values {
		byID[values[i].ID] = &values[i]
		stored[values[i].ID] = values[i].Bytes()
	}
	if len(byID) != len(values) {
		return res, &wire.ValidationError{Field: "transient " + wire.TransientIntelValues, Reason: "a value is listed twice"}
	}
	seen := make(map[string]bool, n)
	for i := range in.Indicators {
		ind := &in.Indicators[i]
		field := fmt.Sprintf("indicators[%d]", i)
		derive(ind, id.MSP, byID, stored)
		if err := checkShared(ind, field, id.MSP, members); err != nil {
			return res, err
		}
		if seen[ind.ID] {
			return res, &wire.ValidationError{Field: field + ".id", Reason: "indicator listed twice in one share"}
		}
		seen[ind.ID] = true
	}
	// Read-free shares (see "Round trips" in the package doc): the
	// exact share recorded before is a replay and writes nothing; a
	// CLEAR or GREEN indicator its organisation purged is refused by the
	// organisation's tombstones, scanned once; every other CLEAR or
	// GREEN record is written without reading what it replaces.
	digestKey, err := keys.Key(keys.ShareDigest, id.MSP, keys.Digest(shareJSON))
	if err != nil {
		return res, err
	}
	prev, err := stub.GetState(digestKey)
	if err != nil {
		return res, &state.LedgerError{Op: "get", Key: digestKey, Err: err}
	}
	var purged map[string]bool
	if needValues > 0 {
		if purged, err = purgedBy(stub, id.MSP); err != nil {
			return res, err
		}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return res, err
	}
	txID := stub.GetTxID()
	refs := make([]wire.IndicatorRef, 0, n)
	packs := packer{coll: wire.CollectionIntelShared, prefix: txID}
	stale := map[string]bool{}
	for i := range in.Indicators {
		ind := &in.Indicators[i]
		field := fmt.Sprintf("indicators[%d]", i)
		v := byID[ind.ID]
		if wire.IsAmber(ind.TLP) {
			if v != nil {
				return res, &wire.ValidationError{Field: field, Reason: fmt.Sprintf("the value of a %s indicator must not travel with ShareIndicators (every endorser sees its transient map): store it with StoreIndicatorValues endorsed by the recipients", ind.TLP)}
			}
		} else {
			if v == nil {
				return res, &wire.ValidationError{Field: field, Reason: fmt.Sprintf("no value for %s indicator %s in transient %s", ind.TLP, ind.ID, wire.TransientIntelValues)}
			}
			if err := v.CheckStored("transient "+wire.TransientIntelValues+"["+ind.ID+"]", ind, key, stored[ind.ID]); err != nil {
				return res, err
			}
			delete(byID, ind.ID)
			if purged[ind.ID] {
				return res, &state.StateError{Kind: "indicator", ID: ind.ID, State: wire.IndicatorPurged, Action: "share it again (its sharer purged this value)"}
			}
		}
		if prev != nil {
			continue // checked above; a replay writes nothing
		}
		k, err := keys.Key(keys.Indicator, ind.ID)
		if err != nil {
			return res, err
		}
		if wire.IsAmber(ind.TLP) {
			// An AMBER record is read first: a value it replaces may sit
			// in a collection its new recipients do not all belong to
			// (intelShared, when a GREEN indicator becomes AMBER), and
			// every such copy must go now, not at a purge.
			old, found, err := intelrec.Get(stub, k)
			if err != nil {
				return res, err
			}
			if found && sameShare(old, ind) {
				res.Unchanged++
				continue
			}
			if found && old.Status == wire.IndicatorPurged {
				return res, &state.StateError{Kind: "indicator", ID: ind.ID, State: wire.IndicatorPurged, Action: "share it again (its sharer purged this value)"}
			}
			if found {
				// CLEAR/GREEN re-shares do not read what they replace,
				// so earlier copies of the value may sit in packs only
				// earlier versions of the record name: the key's history
				// finds them all, and each is rewritten without the value
				// below (repack); a copy from before packs is purged.
				homes, err := valueHomesOf(stub, k, old)
				if err != nil {
					return res, err
				}
				for p := range homes.packs {
					stale[p] = true
				}
				if homes.unpacked {
					if err := purgeUnpacked(stub, ind.ID); err != nil {
						return res, err
					}
				}
			}
		}
		ind.SharedBy, ind.SharedAt, ind.SharedTx = id.MSP, now, txID
		ind.Status = wire.IndicatorActive
		if v != nil {
			ind.ValueKey = packs.addRaw(stored[ind.ID])
		}
		if err := intelrec.Put(stub, k, ind); err != nil {
			return res, err
		}
		res.Shared++
		refs = append(refs, sharedRef(ind))
	}
	if prev != nil {
		if len(byID) > 0 {
			return res, &wire.ValidationError{Field: "transient " + wire.TransientIntelValues, Reason: fmt.Sprintf("%d values name no CLEAR or GREEN indicator of this share", len(byID))}
		}
		res.Unchanged = n
		return res, nil
	}
	if err := state.PutRaw(stub, digestKey, []byte(txID)); err != nil {
		return res, err
	}
	if err := packs.flush(stub); err != nil {
		return res, err
	}
	// Every indicator of this share is dropped from the packs rewritten:
	// an AMBER one's value must leave intelShared, and a CLEAR/GREEN
	// one's record was just written naming its new pack, which a
	// rewrite of its old pack must not overwrite.
	if err := repack(stub, wire.CollectionIntelShared, stale, seen, txID); err != nil {
		return res, err
	}
	if len(byID) > 0 {
		return res, &wire.ValidationError{Field: "transient " + wire.TransientIntelValues, Reason: fmt.Sprintf("%d values name no CLEAR or GREEN indicator of this share", len(byID))}
	}
	if len(refs) > 0 {
		if err := state.Emit(stub, wire.EventIntelChanged, wire.IntelEvent{Kind: wire.IntelShared, SharedBy: id.MSP, Indicators: refs}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// derive fills in what a share's record may leave out because the
// ledger can derive it (wire.IndicatorShare): its id from the sharer msp
// and the hash, and, for a CLEAR or GREEN record, its type and valueHash
// from its value in byID (stored holds each value's stored bytes). The
// record is validated afterwards as if the sharer had sent them (a value
// that is not the record's still fails IndicatorValue.Check).
func derive(ind *wire.Indicator, msp string, byID map[string]*wire.IndicatorValue, stored map[string][]byte) {
	if ind.ID == "" && ind.Hash != "" {
		ind.ID = wire.IndicatorID(msp, ind.Hash)
	}
	if wire.IsAmber(ind.TLP) {
		return
	}
	v := byID[ind.ID]
	if v == nil || v.Hash != ind.Hash {
		return
	}
	if ind.Type == "" {
		ind.Type = v.Type
	}
	if ind.ValueHash == "" {
		ind.ValueHash = wire.ValueHashOf(stored[ind.ID])
	}
}

// checkShared validates one shared record as organisation msp shares it.
func checkShared(ind *wire.Indicator, field, msp string, members *wire.Members) error {
	if ind.SharedBy != "" && ind.SharedBy != msp {
		return &wire.ValidationError{Field: field + ".sharedBy", Reason: fmt.Sprintf("%q is not the caller's organisation %s (the ledger sets it from the creator)", ind.SharedBy, msp)}
	}
	ind.SharedBy = ""
	if ind.TLP == wire.TLPAmberStrict && len(ind.Recipients) == 0 {
		ind.Recipients = []string{msp}
	}
	if err := ind.Validate(field); err != nil {
		return err
	}
	if want := wire.IndicatorID(msp, ind.Hash); ind.ID != want {
		return &wire.ValidationError{Field: field + ".id", Reason: fmt.Sprintf("%s is not the id of this hash shared by %s (%s)", ind.ID, msp, want)}
	}
	if wire.IsAmber(ind.TLP) {
		if !slices.Contains(ind.Recipients, msp) {
			return &wire.ValidationError{Field: field + ".recipients", Reason: fmt.Sprintf("must include the sharer %s", msp)}
		}
		if ind.TLP == wire.TLPAmberStrict && len(ind.Recipients) != 1 {
			return &wire.ValidationError{Field: field + ".recipients", Reason: fmt.Sprintf("AMBER+STRICT stays inside the sharing organisation: recipients must be exactly [%s]", msp)}
		}
		for _, r := range ind.Recipients {
			if !slices.Contains(members.MSPs, r) {
				return &wire.ValidationError{Field: field + ".recipients", Reason: fmt.Sprintf("%s is not a consortium member", r)}
			}
		}
		slices.Sort(ind.Recipients)
	}
	return nil
}

// sameShare reports whether stored record old is ind shared again
// unchanged and still active.
func sameShare(old, ind *wire.Indicator) bool {
	if old.Status != wire.IndicatorActive {
		return false
	}
	a, b := *old, *ind
	a.SharedBy, a.SharedAt, a.SharedTx, a.Status, a.ValueKey = "", wire.Time{}, "", "", ""
	aj, err1 := json.Marshal(a)
	bj, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(aj) == string(bj)
}

// transientValues reads the values and the consortium key from the
// transient map; with need false it accepts a map without them.
func transientValues(stub shim.ChaincodeStubInterface, need bool) ([]wire.IndicatorValue, []byte, error) {
	tm, err := stub.GetTransient()
	if err != nil {
		return nil, nil, &state.LedgerError{Op: "read transient", Err: err}
	}
	raw, ok := tm[wire.TransientIntelValues]
	if !ok {
		if need {
			return nil, nil, &wire.ValidationError{Field: "transient " + wire.TransientIntelValues, Reason: "is required: values travel in the transient map, never as arguments"}
		}
		return nil, nil, nil
	}
	values, err := decodeValues(raw, "transient "+wire.TransientIntelValues)
	if err != nil {
		return nil, nil, err
	}
	if len(values) > wire.MaxIndicatorsPerTx {
		return nil, nil, &wire.ValidationError{Field: "transient " + wire.TransientIntelValues, Reason: fmt.Sprintf("%d values exceeds the limit of %d", len(values), wire.MaxIndicatorsPerTx)}
	}
	rawKey, ok := tm[wire.TransientIntelKey]
	if !ok {
		return nil, nil, &wire.ValidationError{Field: "transient " + wire.TransientIntelKey, Reason: "is required to check the values' keyed hashes"}
	}
	k, err := wire.Decode[wire.IntelKey](rawKey, "transient "+wire.TransientIntelKey)
	if err != nil {
		return nil, nil, err
	}
	secret, err := k.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return values, secret, nil
}

// StoreIndicatorValues writes the values of the caller's organisation's
// AMBER and AMBER+STRICT indicators (transient wire.TransientIntelValues,
// checked with the key under wire.TransientIntelKey) into the implicit
// collection of each recipient. It writes no public state, so its
// endorsement policy is the recipients' alone: submit it endorsed by the
// recipients only. Returns the ids stored.
func (c *Contract) StoreIndicatorValues(ctx contractapi.TransactionContextInterface) (string, error) {
	return contract.Submit(ctx, wire.TxStoreIndicatorValues, access.Intel, func(tx contract.Call) ([]string, error) { return storeValues(tx) })
}

func storeValues(c contract.Call) ([]string, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if _, err := ledgerview.MemberFor(stub, id, fn); err != nil {
		return nil, err
	}
	values, key, err := transientValues(stub, true)
	if err != nil {
		return nil, err
	}
	if len(values) == 0 {
		return nil, &wire.ValidationError{Field: "transient " + wire.TransientIntelValues, Reason: "holds no value"}
	}
	ids := make([]string, 0, len(values))
	refs := make([]wire.IndicatorRef, 0, len(values))
	for i := range values {
		v := &values[i]
		field := fmt.Sprintf("transient %s[%d]", wire.TransientIntelValues, i)
		if !wire.IsHash(v.ID) {
			return nil, &wire.ValidationError{Field: field + ".id", Reason: "must be an indicator id (64 lowercase hex digits)"}
		}
		if slices.Contains(ids, v.ID) {
			return nil, &wire.ValidationError{Field: field + ".id", Reason: "value listed twice"}
		}
		ind, _, err := mustLoad(stub, v.ID)
		if err != nil {
			return nil, err
		}
		if err := id.RequireOrg(fn, ind.SharedBy); err != nil {
			return nil, id.Deny(fn, fmt.Sprintf("membership of %s, the organisation that shared indicator %s", ind.SharedBy, ind.ID))
		}
		if !wire.IsAmber(ind.TLP) {
			return nil, &wire.ValidationError{Field: field, Reason: fmt.Sprintf("indicator %s is %s: its value went with ShareIndicators", ind.ID, ind.TLP)}
		}
		if ind.Status == wire.IndicatorRevoked || ind.Status == wire.IndicatorPurged {
			return nil, &state.StateError{Kind: "indicator", ID: ind.ID, State: ind.Status, Action: "store its value"}
		}
		if err := v.Check(field, ind, key); err != nil {
			return nil, err
		}
		b := v.Bytes()
		for _, r := range ind.Recipients {
			if err := putPrivate(stub, wire.ImplicitCollection(r), ind.ID, b); err != nil {
				return nil, err
			}
		}
		ids = append(ids, ind.ID)
		refs = append(refs, ref(ind))
	}
	if err := state.Emit(stub, wire.EventIntelChanged, wire.IntelEvent{Kind: wire.IntelValues, Indicators: refs}); err != nil {
		return nil, err
	}
	return ids, nil
}

// RevokeIndicator ends indicator id at once, with a reason; only its
// sharing organisation may. Revoking a revoked (or purged) indicator is a
// no-op. Returns the record.
func (c *Contract) RevokeIndicator(ctx contractapi.TransactionContextInterface, id, reason string) (string, error) {
	return contract.Submit(ctx, wire.TxRevokeIndicator, access.Intel, func(tx contract.Call) (*wire.Indicator, error) {
		return endIndicator(tx, id, reason, false)
	})
}

// PurgeIndicator removes the value of indicator id from every private
// data collection that holds it (Fabric's PurgePrivateData: also from the
// peers' private history); the public record, its keyed hash and
// valueHash stay, marked purged. Only the sharing organisation may; a
// purged indicator is not shared again with the same value. Returns the
// record.
func (c *Contract) PurgeIndicator(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	return contract.Submit(ctx, wire.TxPurgeIndicator, access.Intel, func(tx contract.Call) (*wire.Indicator, error) {
		return endIndicator(tx, id, "", true)
	})
}

func endIndicator(c contract.Call, indID, reason string, purge bool) (*wire.Indicator, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if !purge {
		if err := wire.ValidateIntelReason(reason); err != nil {
			return nil, err
		}
	}
	if _, err := ledgerview.MemberFor(stub, id, fn); err != nil {
		return nil, err
	}
	ind, k, err := mustLoad(stub, indID)
	if err != nil {
		return nil, err
	}
	if !ind.VisibleTo(id.MSP) {
		return nil, &state.NotFoundError{Kind: "indicator", ID: indID}
	}
	if err := id.RequireOrg(fn, ind.SharedBy); err != nil {
		return nil, id.Deny(fn, fmt.Sprintf("membership of %s, the organisation that shared indicator %s", ind.SharedBy, ind.ID))
	}
	if ind.Status == wire.IndicatorPurged {
		if purge {
			// Purging again writes the tombstone a purge by an earlier
			// version of this contract did not (how such a ledger is
			// brought up to date): shares then refuse the indicator.
			return ind, tombstone(stub, ind, true)
		}
		return ind, nil
	}
	if !purge && ind.Status == wire.IndicatorRevoked {
		return ind, nil
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	kind := wire.IntelRevoked
	if purge {
		kind = wire.IntelPurged
		if err := purgeValues(stub, k, ind); err != nil {
			return nil, err
		}
		if err := tombstone(stub, ind, false); err != nil {
			return nil, err
		}
		ind.Status, ind.PurgedAt, ind.PurgedTx = wire.IndicatorPurged, now, stub.GetTxID()
	} else {
		ind.Status, ind.RevokedAt, ind.RevokedTx = wire.IndicatorRevoked, now, stub.GetTxID()
	}
	if err := intelrec.Put(stub, k, ind); err != nil {
		return nil, err
	}
	if err := state.Emit(stub, wire.EventIntelChanged, wire.IntelEvent{Kind: kind, Indicators: []wire.IndicatorRef{ref(ind)}}); err != nil {
		return nil, err
	}
	return ind, nil
}

// valueHomes is everywhere the versions of one indicator record put its
// value.
type valueHomes struct {
	packs    map[string]bool // intelShared value packs CLEAR/GREEN versions named
	unpacked bool            // a CLEAR/GREEN version from before packs: the value under its id in intelShared
	colls    []string        // implicit collections of AMBER versions' recipients, sorted
}

// valueHomesOf walks the history of indicator key k, plus cur (its
// record now), and returns every place a version put the value. Shares
// write CLEAR and GREEN records without reading the ones they replace,
// so earlier versions may name value packs other than the current one,
// a value stored under the id before packs, or AMBER recipients whose
// implicit collections still hold it: the current record alone does not
// find them (purgeValues and an AMBER share both need all of them).
func valueHomesOf(stub shim.ChaincodeStubInterface, k string, cur *wire.Indicator) (valueHomes, error) {
	homes := valueHomes{packs: map[string]bool{}}
	add := func(v *wire.Indicator) {
		switch {
		case wire.IsAmber(v.TLP):
			for _, r := range v.Recipients {
				if c := wire.ImplicitCollection(r); !slices.Contains(homes.colls, c) {
					homes.colls = append(homes.colls, c)
				}
			}
		case v.ValueKey != "":
			homes.packs[v.ValueKey] = true
		default:
			homes.unpacked = true
		}
	}
	add(cur)
	it, err := stub.GetHistoryForKey(k)
	if err != nil {
		return homes, &state.LedgerError{Op: "history", Key: k, Err: err}
	}
	defer it.Close()
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return homes, &state.LedgerError{Op: "history", Key: k, Err: err}
		}
		if m.IsDelete {
			continue
		}
		v, err := intelrec.Decode(m.Value)
		if err != nil {
			return homes, &state.LedgerError{Op: "decode history", Key: k, Err: err}
		}
		add(v)
	}
	slices.Sort(homes.colls) // a deterministic write order for every endorser
	return homes, nil
}

// purgeValues removes every copy of ind's value (valueHomesOf finds
// them): each value pack holding it is purged and its other values
// stored again (repack); each collection's copy is purged.
func purgeValues(stub shim.ChaincodeStubInterface, k string, ind *wire.Indicator) error {
	homes, err := valueHomesOf(stub, k, ind)
	if err != nil {
		return err
	}
	if err := repack(stub, wire.CollectionIntelShared, homes.packs, map[string]bool{ind.ID: true}, stub.GetTxID()); err != nil {
		return err
	}
	if homes.unpacked || len(homes.packs) > 0 {
		// A copy stored under the id before packs existed goes too.
		if err := purgeUnpacked(stub, ind.ID); err != nil {
			return err
		}
	}
	for _, coll := range homes.colls {
		if err := stub.PurgePrivateData(coll, ind.ID); err != nil {
			return &state.LedgerError{Op: "purge private data " + coll, Key: ind.ID, Err: err}
		}
	}
	return nil
}

// tombstone records that ind's sharer purged it (lg.ipurged), so that
// ShareIndicators refuses it without reading its record; with ifMissing
// it writes only where no tombstone is.
func tombstone(stub shim.ChaincodeStubInterface, ind *wire.Indicator, ifMissing bool) error {
	k, err := keys.Key(keys.Purged, ind.SharedBy, ind.ID)
	if err != nil {
		return err
	}
	if ifMissing {
		b, err := stub.GetState(k)
		if err != nil {
			return &state.LedgerError{Op: "get", Key: k, Err: err}
		}
		if b != nil {
			return nil
		}
	}
	tx := ind.PurgedTx
	if tx == "" || !ifMissing {
		tx = stub.GetTxID()
	}
	return state.PutRaw(stub, k, []byte(tx))
}

// purgedBy returns the ids of the indicators organisation msp purged:
// one scan of its tombstones, which Fabric runs again at validation, so
// a purge committed meanwhile invalidates the share (a phantom read).
// Purges are rare; the scan grows with them, not with the indicators.
func purgedBy(stub shim.ChaincodeStubInterface, msp string) (map[string]bool, error) {
	it, err := stub.GetStateByPartialCompositeKey(keys.Purged, []string{msp})
	if err != nil {
		return nil, &state.LedgerError{Op: "scan", Key: keys.Purged, Err: err}
	}
	defer it.Close()
	out := map[string]bool{}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, &state.LedgerError{Op: "scan", Key: keys.Purged, Err: err}
		}
		_, attrs, err := stub.SplitCompositeKey(kv.Key)
		if err != nil || len(attrs) != 2 {
			return nil, &state.LedgerError{Op: "scan", Key: kv.Key, Err: fmt.Errorf("not a tombstone key (%v)", err)}
		}
		out[attrs[1]] = true
	}
	return out, nil
}

// purgeUnpacked purges the CLEAR/GREEN value stored under the indicator's
// own id (how values were kept before value packs), if the collection
// holds one: its hash is visible to every peer, member or not.
func purgeUnpacked(stub shim.ChaincodeStubInterface, id string) error {
	h, err := stub.GetPrivateDataHash(wire.CollectionIntelShared, id)
	if err != nil {
		return &state.LedgerError{Op: "read private data hash " + wire.CollectionIntelShared, Key: id, Err: err}
	}
	if len(h) == 0 {
		return nil
	}
	if err := stub.PurgePrivateData(wire.CollectionIntelShared, id); err != nil {
		return &state.LedgerError{Op: "purge private data " + wire.CollectionIntelShared, Key: id, Err: err}
	}
	return nil
}

// ReportSightings records sightings of indicators by the caller's
// organisation (reportJSON is a wire.SightingReport): each names an
// indicator the organisation may see, a count and the first and last
// time seen. Returns the stored sightings.
func (c *Contract) ReportSightings(ctx contractapi.TransactionContextInterface, reportJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxReportSightings, access.Sighting, func(tx contract.Call) ([]wire.Sighting, error) { return report(tx, reportJSON) })
}

func report(c contract.Call, reportJSON string) ([]wire.Sighting, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	in, err := wire.Decode[wire.SightingReport]([]byte(reportJSON), "report")
	if err != nil {
		return nil, err
	}
	n := len(in.Sightings)
	if n == 0 || n > wire.MaxSightingsPerTx {
		return nil, &wire.ValidationError{Field: "sightings", Reason: fmt.Sprintf("%d sightings; a report holds 1..%d", n, wire.MaxSightingsPerTx)}
	}
	if _, err := ledgerview.MemberFor(stub, id, fn); err != nil {
		return nil, err
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	loaded := map[string]*wire.Indicator{}
	var refs []wire.IndicatorRef
	for i := range in.Sightings {
		s := &in.Sightings[i]
		field := fmt.Sprintf("sightings[%d]", i)
		if err := s.Validate(field); err != nil {
			return nil, err
		}
		ind := loaded[s.IndicatorID]
		if ind == nil {
			if ind, _, err = mustLoad(stub, s.IndicatorID); err != nil {
				return nil, err
			}
			if !ind.VisibleTo(id.MSP) {
				return nil, &state.NotFoundError{Kind: "indicator", ID: s.IndicatorID}
			}
			loaded[s.IndicatorID] = ind
			refs = append(refs, ref(ind))
		}
		s.ReportedBy, s.ReportedAt, s.ReportedTx = id.MSP, now, txID
		k, err := keys.Key(keys.Sighting, s.IndicatorID, id.MSP, txID, keys.SetSeq(i))
		if err != nil {
			return nil, err
		}
		if err := state.Put(stub, k, s); err != nil {
			return nil, err
		}
	}
	if err := state.Emit(stub, wire.EventIntelChanged, wire.IntelEvent{Kind: wire.IntelSighting, Indicators: refs}); err != nil {
		return nil, err
	}
	return in.Sightings, nil
}

// GetIndicator returns indicator id as JSON with its status at the
// transaction's time, and — when the caller's organisation may read it
// and its peer holds it — its value, STIX object and salt. An AMBER
// indicator is not found for organisations outside its recipients.
func (c *Contract) GetIndicator(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	return contract.Submit(ctx, wire.TxGetIndicator, access.Read, func(tx contract.Call) (*wire.Indicator, error) {
		now, err := state.TxTime(tx.Stub)
		if err != nil {
			return nil, err
		}
		ind, _, err := mustLoad(tx.Stub, id)
		if err != nil {
			return nil, err
		}
		if !ind.VisibleTo(tx.ID.MSP) {
			return nil, &state.NotFoundError{Kind: "indicator", ID: id}
		}
		return ind, fill(tx.Stub, ind, tx.ID.MSP, now, nil)
	})
}

// GetIndicators returns, as a JSON array in the order asked, the
// indicators of idsJSON (a JSON array of at most
// wire.MaxIndicatorsPerTx ids) that exist and the caller's organisation
// may see, each filled as GetIndicator fills it; the others are left out.
// One call instead of one per indicator: what a gateway's sync reads for
// a share's event, with each value pack read once for all its
// indicators.
func (c *Contract) GetIndicators(ctx contractapi.TransactionContextInterface, idsJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxGetIndicators, access.Read, func(tx contract.Call) ([]wire.Indicator, error) {
		ids, err := wire.Decode[[]string]([]byte(idsJSON), "ids")
		if err != nil {
			return nil, err
		}
		if len(ids) > wire.MaxIndicatorsPerTx {
			return nil, &wire.ValidationError{Field: "ids", Reason: fmt.Sprintf("%d ids; at most %d", len(ids), wire.MaxIndicatorsPerTx)}
		}
		now, err := state.TxTime(tx.Stub)
		if err != nil {
			return nil, err
		}
		out := make([]wire.Indicator, 0, len(ids))
		packs := map[string][]json.RawMessage{}
		for _, id := range ids {
			ind, _, err := mustLoad(tx.Stub, id)
			if state.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !ind.VisibleTo(tx.ID.MSP) {
				continue
			}
			if err := fill(tx.Stub, ind, tx.ID.MSP, now, packs); err != nil {
				return nil, err
			}
			out = append(out, *ind)
		}
		return out, nil
	})
}

// ListIndicators returns a page (wire.Page of wire.Indicator) of the
// indicators the caller's organisation may see that match filterJSON (a
// wire.IndicatorFilter; "" = all), in id order, each filled as
// GetIndicator fills it. Follow the bookmark until it is "".
func (c *Contract) ListIndicators(ctx contractapi.TransactionContextInterface, filterJSON string, pageSize int32, bookmark string) (string, error) {
	return contract.Submit(ctx, wire.TxListIndicators, access.Read, func(tx contract.Call) (wire.Page[wire.Indicator], error) {
		f, err := wire.DecodeOptional[wire.IndicatorFilter](filterJSON, "filter")
		if err != nil {
			return wire.Page[wire.Indicator]{}, err
		}
		now, err := state.TxTime(tx.Stub)
		if err != nil {
			return wire.Page[wire.Indicator]{}, err
		}
		stored, err := state.List(tx.Stub, keys.Indicator, nil, pageSize, bookmark, func(r *intelrec.Record) bool {
			return r.VisibleTo(tx.ID.MSP) && f.Match(&r.Indicator)
		})
		page := wire.Page[wire.Indicator]{Records: make([]wire.Indicator, len(stored.Records)), Bookmark: stored.Bookmark, Fetched: stored.Fetched}
		for i := range stored.Records {
			page.Records[i] = stored.Records[i].Indicator
		}
		if err != nil {
			return page, err
		}
		packs := map[string][]json.RawMessage{} // records of one share often share a pack
		for i := range page.Records {
			if err := fill(tx.Stub, &page.Records[i], tx.ID.MSP, now, packs); err != nil {
				return page, err
			}
		}
		return page, nil
	})
}

// GetSightings returns a page (wire.Page of wire.Sighting) of the
// sightings reported for indicator id, ordered by reporting organisation
// then transaction; only organisations that may see the indicator may.
func (c *Contract) GetSightings(ctx contractapi.TransactionContextInterface, id string, pageSize int32, bookmark string) (string, error) {
	return contract.Submit(ctx, wire.TxGetSightings, access.Read, func(tx contract.Call) (wire.Page[wire.Sighting], error) {
		ind, _, err := mustLoad(tx.Stub, id)
		if err != nil {
			return wire.Page[wire.Sighting]{}, err
		}
		if !ind.VisibleTo(tx.ID.MSP) {
			return wire.Page[wire.Sighting]{}, &state.NotFoundError{Kind: "indicator", ID: id}
		}
		return state.List[wire.Sighting](tx.Stub, keys.Sighting, []string{id}, pageSize, bookmark, nil)
	})
}

// fill sets the read-time fields of ind for a reader of organisation msp;
// packs (nil: none) caches the value packs already read.
func fill(stub shim.ChaincodeStubInterface, ind *wire.Indicator, msp string, now wire.Time, packs map[string][]json.RawMessage) error {
	ind.Status = ind.StatusAt(now)
	if ind.Status == wire.IndicatorPurged {
		return nil
	}
	coll := ind.Collection(msp)
	if ind.ValueKey != "" && coll == wire.CollectionIntelShared {
		return fillPacked(stub, ind, coll, packs)
	}
	h, err := stub.GetPrivateDataHash(coll, ind.ID)
	if err != nil {
		return &state.LedgerError{Op: "get private data hash " + coll, Key: ind.ID, Err: err}
	}
	ind.ValueOnLedger = h != nil && hex.EncodeToString(h) == ind.ValueHash
	data, err := stub.GetPrivateData(coll, ind.ID)
	if err != nil {
		return &state.LedgerError{Op: "get private data " + coll, Key: ind.ID, Err: err}
	}
	if data == nil {
		return nil // not yet stored, or this peer does not hold it
	}
	v, err := wire.Decode[wire.IndicatorValue](data, "stored value")
	if err != nil {
		return &state.LedgerError{Op: "decode private data " + coll, Key: ind.ID, Err: err}
	}
	ind.Value, ind.Stix, ind.Salt = v.Value, v.Stix, v.Salt
	return nil
}

// fillPacked fills ind from the value pack it names. ValueOnLedger: the
// pack is on the ledger (its hash is in the peer's hashed private state)
// and, where the peer holds the pack, the entry's SHA-256 is ind's
// valueHash.
func fillPacked(stub shim.ChaincodeStubInterface, ind *wire.Indicator, coll string, packs map[string][]json.RawMessage) error {
	if entries, ok := packs[ind.ValueKey]; ok {
		return fillFrom(ind, coll, entries)
	}
	h, err := stub.GetPrivateDataHash(coll, ind.ValueKey)
	if err != nil {
		return &state.LedgerError{Op: "get private data hash " + coll, Key: ind.ValueKey, Err: err}
	}
	if h == nil {
		return nil // purged, or not yet committed on this peer
	}
	data, err := stub.GetPrivateData(coll, ind.ValueKey)
	if err != nil {
		return &state.LedgerError{Op: "get private data " + coll, Key: ind.ValueKey, Err: err}
	}
	if data == nil {
		ind.ValueOnLedger = true // the hash is there; this peer lacks the values yet
		return nil
	}
	entries, err := splitPack(data)
	if err != nil {
		return &state.LedgerError{Op: "decode private data " + coll, Key: ind.ValueKey, Err: err}
	}
	if packs != nil {
		packs[ind.ValueKey] = entries
	}
	return fillFrom(ind, coll, entries)
}

// fillFrom fills ind from its entry among a pack's entries (none: the
// pack no longer holds it, so it is not on the ledger). Only that entry
// is decoded: a read of one indicator should not cost a whole pack.
func fillFrom(ind *wire.Indicator, coll string, entries []json.RawMessage) error {
	i := findEntry(entries, ind.ID)
	if i < 0 {
		return nil
	}
	var v wire.IndicatorValue
	if err := json.Unmarshal(entries[i], &v); err != nil {
		return &state.LedgerError{Op: "decode private data " + coll, Key: ind.ValueKey, Err: err}
	}
	if v.ID != ind.ID {
		return &state.LedgerError{Op: "decode private data " + coll, Key: ind.ValueKey, Err: fmt.Errorf("entry of %s names %s", ind.ID, v.ID)}
	}
	sum := sha256.Sum256(entries[i])
	ind.ValueOnLedger = hex.EncodeToString(sum[:]) == ind.ValueHash
	ind.Value, ind.Stix, ind.Salt = v.Value, v.Stix, v.Salt
	return nil
}

func putPrivate(stub shim.ChaincodeStubInterface, coll, id string, data []byte) error {
	if err := stub.PutPrivateData(coll, id, data); err != nil {
		return &state.LedgerError{Op: "put private data " + coll, Key: id, Err: err}
	}
	return nil
}

// mustLoad returns indicator id and its key, or a *state.NotFoundError.
func mustLoad(stub shim.ChaincodeStubInterface, id string) (*wire.Indicator, string, error) {
	if !wire.IsHash(id) {
		return nil, "", &wire.ValidationError{Field: "id", Reason: fmt.Sprintf("%q must be an indicator id (64 lowercase hex digits)", id)}
	}
	k, err := keys.Key(keys.Indicator, id)
	if err != nil {
		return nil, "", err
	}
	ind, found, err := intelrec.Get(stub, k)
	if err != nil {
		return nil, k, err
	}
	if !found {
		return nil, k, &state.NotFoundError{Kind: "indicator", ID: id}
	}
	return ind, k, nil
}

// sharedRef returns the reference of ind in a share's event: its id, TLP
// and recipients, what a gateway needs to decide whether to read it (the
// event names the sharer once, wire.IntelEvent.SharedBy). A share's event
// is in the block with every indicator of the share, so it carries no
// more: the hash, type and validity are in the record the gateway reads.
// AMBER references keep the sharer too: a gateway older than compact
// events decides readability of AMBER from each reference's sharer, and
// would otherwise miss its own organisation's AMBER indicators until it
// is upgraded (CLEAR/GREEN are readable by everyone, sharer or not).
func sharedRef(ind *wire.Indicator) wire.IndicatorRef {
	r := wire.IndicatorRef{ID: ind.ID, TLP: ind.TLP, Recipients: ind.Recipients}
	if len(ind.Recipients) > 0 || (ind.TLP != wire.TLPClear && ind.TLP != wire.TLPGreen) {
		r.SharedBy = ind.SharedBy
	}
	return r
}

// ref returns the event reference of ind.
func ref(ind *wire.Indicator) wire.IndicatorRef {
	return wire.IndicatorRef{ID: ind.ID, Hash: ind.Hash, Type: ind.Type, TLP: ind.TLP, Recipients: ind.Recipients,
		SharedBy: ind.SharedBy, ValidUntil: ind.ValidUntil}
}
