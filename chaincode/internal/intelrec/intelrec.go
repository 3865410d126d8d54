// Package intelrec owns how the intel contract stores an indicator's
// public record (lg.intel(id)) in the world state, and reads it back as
// the wire.Indicator every reader returns.
//
// Why a stored form of its own: a ShareIndicators transaction writes one
// record per indicator, and every byte of it is carried by the block
// (the endorsers' write set), hashed for both endorsement signatures and
// the transaction's, copied through each protobuf layer the peers and
// orderers decode, and stored in every peer's state database. The wire
// JSON of a record spends about 700 bytes, 110 of them on field names,
// 64 on the id (the key already names it, and it is
// wire.IndicatorID(sharedBy, hash) anyway) and 70 on a value pack key
// that repeats the sharing transaction's id. Encode writes the same
// information as short-named JSON without those repetitions, with hashes
// in base64url and times as Unix nanoseconds (the compact form,
// compact.go: about half the wire JSON, 342 bytes for a typical shared
// record against 469 in the second form); nothing leaves the chaincode in
// this form: reads convert to wire.Indicator.
//
// Guarantees:
//   - Decode reads every form ever written: wire JSON (chaincode versions
//     before the stored form; starts with `{"id":`), the second form
//     (short names, hex hashes, text times; starts with `{"h":`) and the
//     compact form (starts with `{"H":`), so a ledger written by an
//     earlier version keeps working after an upgrade;
//   - Encode writes the compact form whenever it carries the record
//     exactly (hashes in lowercase hex, times within int64 Unix
//     nanoseconds and not the epoch itself: in practice every
//     record the intel contract writes), else the second form;
//   - Decode(Encode(ind)) equals ind for every field a stored record
//     holds (the read-time fields Value, Stix, Salt and ValueOnLedger are
//     never stored; empty arrays read as absent), with the id recomputed
//     from sharedBy and hash;
//   - the encoding is deterministic (fields in a fixed order, no maps; the
//     bytes encoding/json would write for the form's struct, without its
//     reflection), as every endorser must write the same bytes.
package intelrec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// stored is the stored form. Hash comes first: its name is the form's
// mark (wire JSON starts with the id). Status is omitted while active,
// and ValueKey is split into the part after "v.<sharedTx>." (Pack) when
// it has that shape (the intel contract's value packs), else kept whole.
type stored struct {
	Hash           string    `json:"h"`
	KeyID          string    `json:"k"`
	Type           string    `json:"t"`
	Confidence     int       `json:"c"`
	TLP            string    `json:"l"`
	Recipients     []string  `json:"r,omitempty"`
	ValidFrom      wire.Time `json:"f"`
	ValidUntil     wire.Time `json:"u,omitzero"`
	Techniques     []string  `json:"q,omitempty"`
	KillChainPhase string    `json:"p,omitempty"`
	StixID         string    `json:"s"`
	ValueHash      string    `json:"v"`
	SharedBy       string    `json:"b"`
	SharedAt       wire.Time `json:"a,omitzero"`
	SharedTx       string    `json:"x,omitempty"`
	Status         string    `json:"st,omitempty"`
	RevokedAt      wire.Time `json:"ra,omitzero"`
	RevokedTx      string    `json:"rx,omitempty"`
	PurgedAt       wire.Time `json:"pa,omitzero"`
	PurgedTx       string    `json:"px,omitempty"`
	Pack           string    `json:"n,omitempty"`
	ValueKey       string    `json:"vk,omitempty"`
}

// storedMark starts every record in the stored form.
var storedMark = []byte(`{"h":`)

// packPrefix is how a value pack key of the sharing transaction starts.
func packPrefix(tx string) string { return "v." + tx + "." }

// Encode returns the stored form of ind. A record needs a hash and its
// sharer (the id is recomputed from them on read); one whose id is not
// wire.IndicatorID(sharedBy, hash) is refused, as it could not be read
// back.
func Encode(ind *wire.Indicator) ([]byte, error) {
	s, err := toStored(ind)
	if err != nil {
		return nil, err
	}
	if c, ok := toCompact(s); ok {
		return c.appendJSON(make([]byte, 0, 384)), nil
	}
	return s.appendJSON(make([]byte, 0, 512)), nil
}

// toStored returns the stored form of ind (see Encode).
func toStored(ind *wire.Indicator) (*stored, error) {
	if ind.Hash == "" || ind.SharedBy == "" || ind.ID != wire.IndicatorID(ind.SharedBy, ind.Hash) {
		return nil, state.Inconsistent("indicator record %s: id, hash and sharer do not agree", ind.ID)
	}
	s := stored{
		Hash: ind.Hash, KeyID: ind.KeyID, Type: ind.Type, Confidence: ind.Confidence, TLP: ind.TLP,
		Recipients: ind.Recipients, ValidFrom: ind.ValidFrom, ValidUntil: ind.ValidUntil,
		Techniques: ind.Techniques, KillChainPhase: ind.KillChainPhase, StixID: ind.StixID,
		ValueHash: ind.ValueHash, SharedBy: ind.SharedBy, SharedAt: ind.SharedAt, SharedTx: ind.SharedTx,
		Status: ind.Status, RevokedAt: ind.RevokedAt, RevokedTx: ind.RevokedTx,
		PurgedAt: ind.PurgedAt, PurgedTx: ind.PurgedTx, ValueKey: ind.ValueKey,
	}
	if s.Status == wire.IndicatorActive {
		s.Status = ""
	} else if s.Status == "" {
		return nil, state.Inconsistent("indicator record %s has no status", ind.ID)
	}
	if p := packPrefix(ind.SharedTx); ind.SharedTx != "" && len(ind.ValueKey) > len(p) && strings.HasPrefix(ind.ValueKey, p) {
		s.Pack, s.ValueKey = ind.ValueKey[len(p):], ""
	}
	return &s, nil
}

// appendJSON appends the JSON encoding of s, byte for byte what
// json.Marshal(&s) writes (the tests compare them), without reflection:
// a share encodes a thousand records in every endorser.
func (s *stored) appendJSON(b []byte) []byte {
	b = appendStr(append(b, `{"h":`...), s.Hash)
	b = appendStr(append(b, `,"k":`...), s.KeyID)
	b = appendStr(append(b, `,"t":`...), s.Type)
	b = strconv.AppendInt(append(b, `,"c":`...), int64(s.Confidence), 10)
	b = appendStr(append(b, `,"l":`...), s.TLP)
	b = appendStrs(b, `,"r":`, s.Recipients)
	b = appendTime(append(b, `,"f":`...), s.ValidFrom)
	if !s.ValidUntil.IsZero() {
		b = appendTime(append(b, `,"u":`...), s.ValidUntil)
	}
	b = appendStrs(b, `,"q":`, s.Techniques)
	b = appendOpt(b, `,"p":`, s.KillChainPhase)
	b = appendStr(append(b, `,"s":`...), s.StixID)
	b = appendStr(append(b, `,"v":`...), s.ValueHash)
	b = appendStr(append(b, `,"b":`...), s.SharedBy)
	if !s.SharedAt.IsZero() {
		b = appendTime(append(b, `,"a":`...), s.SharedAt)
	}
	b = appendOpt(b, `,"x":`, s.SharedTx)
	b = appendOpt(b, `,"st":`, s.Status)
	if !s.RevokedAt.IsZero() {
		b = appendTime(append(b, `,"ra":`...), s.RevokedAt)
	}
	b = appendOpt(b, `,"rx":`, s.RevokedTx)
	if !s.PurgedAt.IsZero() {
		b = appendTime(append(b, `,"pa":`...), s.PurgedAt)
	}
	b = appendOpt(b, `,"px":`, s.PurgedTx)
	b = appendOpt(b, `,"n":`, s.Pack)
	b = appendOpt(b, `,"vk":`, s.ValueKey)
	return append(b, '}')
}

// appendStr appends v as a JSON string as encoding/json writes it: plain
// printable ASCII directly (every hash, id, token and time the chaincode
// writes), anything else through encoding/json itself.
func appendStr(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(v) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

// appendOpt appends name and v unless v is empty (omitempty).
func appendOpt(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendStr(append(b, name...), v)
}

// appendStrs appends name and vs as a JSON array unless vs is empty.
func appendStrs(b []byte, name string, vs []string) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(b, name...)
	for i, v := range vs {
		if i == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = appendStr(b, v)
	}
	return append(b, ']')
}

// appendTime appends t as wire.Time encodes it.
func appendTime(b []byte, t wire.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, wire.TimeLayout)
	return append(b, '"')
}

// Decode reads a stored record in any of its forms (see the package doc).
func Decode(b []byte) (*wire.Indicator, error) {
	var s *stored
	switch {
	case bytes.HasPrefix(b, compactMark):
		c, err := decodeCompact(b)
		if err != nil {
			return nil, err
		}
		s = c
	case bytes.HasPrefix(b, storedMark):
		s = new(stored)
		if err := json.Unmarshal(b, s); err != nil {
			return nil, err
		}
		if s.Hash == "" || s.SharedBy == "" {
			return nil, fmt.Errorf("stored indicator record without hash or sharer")
		}
	default:
		var ind wire.Indicator
		if err := json.Unmarshal(b, &ind); err != nil {
			return nil, err
		}
		return &ind, nil
	}
	ind := &wire.Indicator{
		ID: wire.IndicatorID(s.SharedBy, s.Hash), Hash: s.Hash, KeyID: s.KeyID, Type: s.Type,
		Confidence: s.Confidence, TLP: s.TLP, Recipients: s.Recipients, ValidFrom: s.ValidFrom,
		ValidUntil: s.ValidUntil, Techniques: s.Techniques, KillChainPhase: s.KillChainPhase,
		StixID: s.StixID, ValueHash: s.ValueHash, SharedBy: s.SharedBy, SharedAt: s.SharedAt,
		SharedTx: s.SharedTx, Status: s.Status, RevokedAt: s.RevokedAt, RevokedTx: s.RevokedTx,
		PurgedAt: s.PurgedAt, PurgedTx: s.PurgedTx, ValueKey: s.ValueKey,
	}
	// Empty arrays read as absent: the stored forms omit them, so a
	// record reads the same after it is written again.
	if len(ind.Recipients) == 0 {
		ind.Recipients = nil
	}
	if len(ind.Techniques) == 0 {
		ind.Techniques = nil
	}
	if ind.Status == "" {
		ind.Status = wire.IndicatorActive
	}
	if s.Pack != "" {
		ind.ValueKey = packPrefix(s.SharedTx) + s.Pack
	}
	return ind, nil
}

// Record is a stored record as state.List and state.Get decode it: its
// UnmarshalJSON is Decode. Only for records read from the world state:
// input is decoded strictly as wire.Indicator (wire.Decode).
type Record struct {
	wire.Indicator
}

// UnmarshalJSON decodes a stored record in either form.
func (r *Record) UnmarshalJSON(b []byte) error {
	ind, err := Decode(b)
	if err != nil {
		return err
	}
	r.Indicator = *ind
	return nil
}

// Key returns the world-state key of indicator id's record.
func Key(id string) (string, error) { return keys.Key(keys.Indicator, id) }

// Get reads the record under key k (found false when there is none).
func Get(stub shim.ChaincodeStubInterface, k string) (*wire.Indicator, bool, error) {
	b, err := stub.GetState(k)
	if err != nil {
		return nil, false, &state.LedgerError{Op: "get", Key: k, Err: err}
	}
	if b == nil {
		return nil, false, nil
	}
	ind, err := Decode(b)
	if err != nil {
		return nil, false, &state.LedgerError{Op: "decode", Key: k, Err: err}
	}
	return ind, true, nil
}

// Put writes ind under key k in the stored form.
func Put(stub shim.ChaincodeStubInterface, k string, ind *wire.Indicator) error {
	b, err := Encode(ind)
	if err != nil {
		return err
	}
	return state.PutRaw(stub, k, b)
}
