package intel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/intelrec"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Value packs. Every private write costs the peers far more than a
// public one (a shim round trip, a hashed write in the block, a transient
// store entry, a private store entry and, at validation, a lookup of the
// collection's configuration per key), so ShareIndicators stores the
// CLEAR/GREEN values of one share in packs of up to valuesPerPack values
// under one private key each, and each public record names its pack
// (wire.Indicator.ValueKey). A pack is a JSON array of the values'
// wire.IndicatorValue.Bytes, so an entry's SHA-256 is still its record's
// valueHash. Invariant: the current copy of a value is in the pack its
// record names; earlier copies (a CLEAR/GREEN re-share does not read the
// record it replaces, so it cannot take them out) are only in packs that
// earlier versions of the record named, which a purge (or a share that
// makes the indicator AMBER) finds in the key's history and rewrites
// without the value (repack), so either removes every copy.
//
// valuesPerPack trades share cost against read cost: a read
// (GetIndicator, ListIndicators) moves the whole pack through the peer
// (and decodes only its own entry), so a pack stays a few kilobytes. A
// purge (or an AMBER re-share) rewrites the records of the pack's other indicators
// too, so a concurrent revoke or re-share of any of them in the same
// block fails with an MVCC conflict and is retried.
const valuesPerPack = 32

// packer collects the values one transaction writes into packs named
// "v.<prefix>.<n>" (no 64-hex indicator id has that shape, so a pack
// never collides with a per-indicator value key).
type packer struct {
	coll, prefix string
	n, count     int
	buf          bytes.Buffer
	full         []packed
}

type packed struct {
	key  string
	data []byte
}

func (p *packer) key() string { return "v." + p.prefix + "." + strconv.Itoa(p.n) }

// add appends v's stored bytes to the pack being filled and returns that
// pack's key.
func (p *packer) add(v *wire.IndicatorValue) string { return p.addRaw(v.Bytes()) }

func (p *packer) addRaw(raw []byte) string {
	if p.count == valuesPerPack {
		p.close()
	}
	if p.count == 0 {
		p.buf.WriteByte('[')
	} else {
		p.buf.WriteByte(',')
	}
	p.buf.Write(raw)
	p.count++
	return p.key()
}

func (p *packer) close() {
	p.buf.WriteByte(']')
	p.full = append(p.full, packed{key: p.key(), data: bytes.Clone(p.buf.Bytes())})
	p.buf.Reset()
	p.count = 0
	p.n++
}

// flush writes every pack collected so far.
func (p *packer) flush(stub shim.ChaincodeStubInterface) error {
	if p.count > 0 {
		p.close()
	}
	for _, pk := range p.full {
		if err := putPrivate(stub, p.coll, pk.key, pk.data); err != nil {
			return err
		}
	}
	p.full = nil
	return nil
}

// packEntry is one value of a pack with its stored bytes.
type packEntry struct {
	raw []byte
	v   wire.IndicatorValue
}

// splitPack splits a pack into its entries' stored bytes.
func splitPack(data []byte) ([]json.RawMessage, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, err
	}
	return raws, nil
}

// findEntry returns the index of the entry of indicator id, or -1. The
// chaincode writes every entry as wire.IndicatorValue.Bytes, which
// starts with its id, so a prefix finds it without decoding the others;
// entries of another shape are decoded to be sure.
func findEntry(entries []json.RawMessage, id string) int {
	prefix := []byte(`{"id":"` + id + `"`)
	for i, e := range entries {
		if bytes.HasPrefix(e, prefix) {
			return i
		}
	}
	for i, e := range entries {
		var v struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(e, &v) == nil && v.ID == id {
			return i
		}
	}
	return -1
}

// decodePack splits a pack into its decoded entries.
func decodePack(data []byte) ([]packEntry, error) {
	raws, err := splitPack(data)
	if err != nil {
		return nil, err
	}
	out := make([]packEntry, len(raws))
	for i, r := range raws {
		out[i].raw = r
		if err := json.Unmarshal(r, &out[i].v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// repack purges the packs named in stale from coll (Fabric's
// PurgePrivateData, which also drops them from the peers' private
// history) and stores their other values again, in new packs of
// transaction txID, updating the records that name them. Values of the
// indicators in drop are not stored again. Reading a pack needs the
// endorsing peer to hold it: where it does not (yet), the transaction
// fails with a retryable ledger error rather than losing values.
func repack(stub shim.ChaincodeStubInterface, coll string, stale, drop map[string]bool, txID string) error {
	if len(stale) == 0 {
		return nil
	}
	names := make([]string, 0, len(stale))
	for k := range stale {
		names = append(names, k)
	}
	slices.Sort(names) // a deterministic write order for every endorser
	p := packer{coll: coll, prefix: txID + ".r"}
	for _, name := range names {
		data, err := stub.GetPrivateData(coll, name)
		if err != nil {
			return &state.LedgerError{Op: "get private data " + coll, Key: name, Err: err}
		}
		if data == nil {
			h, err := stub.GetPrivateDataHash(coll, name)
			if err != nil {
				return &state.LedgerError{Op: "get private data hash " + coll, Key: name, Err: err}
			}
			if h != nil {
				return &state.LedgerError{Op: "repack " + coll, Key: name, Err: fmt.Errorf("this peer does not hold the value pack yet")}
			}
			continue // already purged
		}
		entries, err := decodePack(data)
		if err != nil {
			return &state.LedgerError{Op: "decode private data " + coll, Key: name, Err: err}
		}
		if err := stub.PurgePrivateData(coll, name); err != nil {
			return &state.LedgerError{Op: "purge private data " + coll, Key: name, Err: err}
		}
		for _, e := range entries {
			if drop[e.v.ID] {
				continue
			}
			k, err := keys.Key(keys.Indicator, e.v.ID)
			if err != nil {
				return err
			}
			ind, found, err := intelrec.Get(stub, k)
			if err != nil {
				return err
			}
			if !found || ind.ValueKey != name {
				continue // the record moved on; its value is elsewhere
			}
			ind.ValueKey = p.addRaw(e.raw)
			if err := intelrec.Put(stub, k, ind); err != nil {
				return err
			}
		}
	}
	return p.flush(stub)
}
