package ledgertest

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Private data, modelled on Fabric 2.5:
//
//   - a static collection (SetCollection) has member organisations and may
//     be memberOnlyRead; "_implicit_org_<MSP>" names the implicit
//     collection of any organisation, whose only member is that
//     organisation and which any client may read or write (Fabric sets
//     neither memberOnlyRead nor memberOnlyWrite on implicit collections);
//   - each organisation's peer keeps its own private store: a transaction
//     runs on one peer (its creator's organisation's unless BeginOn chose
//     another), reads only that peer's store, and a committed write lands
//     in the store of every member organisation of the collection (as
//     endorsement plus gossip dissemination would put it there), never in
//     a non-member's;
//   - the hashed private state (SHA-256 of key and value) is on every peer:
//     GetPrivateDataHash answers anywhere, also on non-members;
//   - private reads record the hashed version, so a concurrent private
//     write is an MVCC conflict at commit, as in Fabric;
//   - PurgePrivateData deletes the value from every store and the hashed
//     state (Fabric also drops the key's past private versions; this model
//     keeps none);
//   - no read-your-writes, as for public state.

type pvtEntry struct {
	value   []byte
	version uint64
}

type hashEntry struct {
	hash    []byte
	version uint64
}

type collectionConfig struct {
	members        []string
	memberOnlyRead bool
}

type privateState struct {
	collections map[string]collectionConfig
	stores      map[string]map[string]map[string]pvtEntry // peer MSP → collection → key
	hashed      map[string]map[string]hashEntry           // collection → key
	// writes counts every committed private write (including purges) by
	// collection, for tests that check where values went.
	writes map[string]int
}

func newPrivateState() privateState {
	return privateState{
		collections: map[string]collectionConfig{},
		stores:      map[string]map[string]map[string]pvtEntry{},
		hashed:      map[string]map[string]hashEntry{},
		writes:      map[string]int{},
	}
}

type pvtWrite struct {
	coll, key string
	value     []byte // nil = delete
	purge     bool
}

type privateTx struct {
	writes []pvtWrite
	reads  map[string]uint64 // coll \x00 key → hashed version read
}

func newPrivateTx() privateTx { return privateTx{reads: map[string]uint64{}} }

const implicitPrefix = "_implicit_org_"

// SetCollection declares static collection name with its member
// organisations; memberOnlyRead refuses reads by clients of other
// organisations, as Fabric's collection option of that name does.
func (l *Ledger) SetCollection(name string, members []string, memberOnlyRead bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pvt.collections[name] = collectionConfig{members: slices.Clone(members), memberOnlyRead: memberOnlyRead}
}

// collection returns the configuration of coll; l.mu held.
func (l *Ledger) collection(coll string) (collectionConfig, error) {
	if msp, ok := strings.CutPrefix(coll, implicitPrefix); ok && msp != "" {
		return collectionConfig{members: []string{msp}}, nil
	}
	c, ok := l.pvt.collections[coll]
	if !ok {
		return collectionConfig{}, fmt.Errorf("collection %s not defined in the collection config for chaincode ledgerguard", coll)
	}
	return c, nil
}

// PrivateValue returns the committed value of key in collection coll as
// the peer of organisation peerMSP holds it.
func (l *Ledger) PrivateValue(peerMSP, coll, key string) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.pvt.stores[peerMSP][coll][key]
	return e.value, ok
}

// PrivateKeys returns the keys of collection coll the peer of peerMSP
// holds, sorted.
func (l *Ledger) PrivateKeys(peerMSP, coll string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.pvt.stores[peerMSP][coll]))
}

// PrivateHash returns the committed hash of key in coll (every peer holds it).
func (l *Ledger) PrivateHash(coll, key string) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.pvt.hashed[coll][key]
	return e.hash, ok
}

// PrivateWrites returns how many private writes (puts, deletes, purges)
// committed transactions made to collection coll.
func (l *Ledger) PrivateWrites(coll string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pvt.writes[coll]
}

// BeginOn starts a transaction by creator simulated on the peer of
// organisation peerMSP (Begin uses the creator's own organisation).
func (l *Ledger) BeginOn(peerMSP string, creator *Identity) *Tx {
	tx := l.Begin(creator)
	tx.peer = peerMSP
	return tx
}

// SetTransient sets the transaction's transient map.
func (tx *Tx) SetTransient(m map[string][]byte) { tx.transient = maps.Clone(m) }

// GetTransient implements the stub.
func (tx *Tx) GetTransient() (map[string][]byte, error) {
	if tx.transient == nil {
		return map[string][]byte{}, nil
	}
	return maps.Clone(tx.transient), nil
}

// PrivateWritten returns the collections this transaction wrote, sorted.
func (tx *Tx) PrivateWritten() []string {
	set := map[string]bool{}
	for _, w := range tx.pvtTx.writes {
		set[w.coll] = true
	}
	return slices.Sorted(maps.Keys(set))
}

func pvtKey(coll, key string) string { return coll + "\x00" + key }

func pvtHash(value []byte) []byte {
	sum := sha256.Sum256(value)
	return sum[:]
}

// GetPrivateData reads the committed value from this transaction's peer's
// store; nil when the peer holds none (also when it is not a member).
func (tx *Tx) GetPrivateData(coll, key string) ([]byte, error) {
	if err := tx.l.fault(OpGet, key); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("key must not be an empty string")
	}
	l := tx.l
	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := l.collection(coll)
	if err != nil {
		return nil, err
	}
	if c.memberOnlyRead && (tx.creator == nil || !slices.Contains(c.members, tx.creator.MSP)) {
		return nil, fmt.Errorf("tx creator does not have read access permission on privatedata in chaincodeName:ledgerguard collectionName: %s", coll)
	}
	if _, seen := tx.pvtTx.reads[pvtKey(coll, key)]; !seen {
		tx.pvtTx.reads[pvtKey(coll, key)] = l.pvt.hashed[coll][key].version
	}
	e, ok := l.pvt.stores[tx.peer][coll][key]
	if !ok {
		return nil, nil
	}
	return slices.Clone(e.value), nil
}

// GetPrivateDataHash returns the committed SHA-256 of the value (nil when
// absent); every peer answers, member or not.
func (tx *Tx) GetPrivateDataHash(coll, key string) ([]byte, error) {
	if err := tx.l.fault(OpGet, key); err != nil {
		return nil, err
	}
	l := tx.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.collection(coll); err != nil {
		return nil, err
	}
	e, ok := l.pvt.hashed[coll][key]
	if _, seen := tx.pvtTx.reads[pvtKey(coll, key)]; !seen {
		tx.pvtTx.reads[pvtKey(coll, key)] = e.version
	}
	if !ok {
		return nil, nil
	}
	return slices.Clone(e.hash), nil
}

func (tx *Tx) pvtWrite(op Op, coll, key string, value []byte, purge bool) error {
	if err := tx.l.fault(op, key); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("key must not be an empty string")
	}
	if tx.paginated {
		return fmt.Errorf("txid [%s]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed", tx.id)
	}
	tx.l.mu.Lock()
	_, err := tx.l.collection(coll)
	tx.l.mu.Unlock()
	if err != nil {
		return err
	}
	tx.pvtTx.writes = append(tx.pvtTx.writes, pvtWrite{coll: coll, key: key, value: value, purge: purge})
	return nil
}

// PutPrivateData buffers a private write.
func (tx *Tx) PutPrivateData(coll, key string, value []byte) error {
	if len(value) == 0 {
		return fmt.Errorf("value is empty")
	}
	return tx.pvtWrite(OpPut, coll, key, slices.Clone(value), false)
}

// DelPrivateData buffers a private delete.
func (tx *Tx) DelPrivateData(coll, key string) error {
	return tx.pvtWrite(OpDel, coll, key, nil, false)
}

// PurgePrivateData buffers a purge: at commit the value leaves every
// store and the hashed state.
func (tx *Tx) PurgePrivateData(coll, key string) error {
	return tx.pvtWrite(OpDel, coll, key, nil, true)
}

// validate checks the private reads' versions; l.mu held.
func (p *privateState) validate(tx *Tx) error {
	for _, k := range slices.Sorted(maps.Keys(tx.pvtTx.reads)) {
		coll, key, _ := strings.Cut(k, "\x00")
		if p.hashed[coll][key].version != tx.pvtTx.reads[k] {
			return &ConflictError{TxID: tx.id, Key: coll + "/" + key, Reason: "mvcc"}
		}
	}
	return nil
}

// apply commits the private writes; l.mu held.
func (p *privateState) apply(tx *Tx, version uint64) {
	l := tx.l
	for _, w := range tx.pvtTx.writes {
		c, _ := l.collection(w.coll) // checked when buffered
		p.writes[w.coll]++
		if w.value == nil {
			delete(p.hashed[w.coll], w.key)
			for _, store := range p.stores {
				delete(store[w.coll], w.key)
			}
			continue
		}
		if p.hashed[w.coll] == nil {
			p.hashed[w.coll] = map[string]hashEntry{}
		}
		p.hashed[w.coll][w.key] = hashEntry{hash: pvtHash(w.value), version: version}
		for _, m := range c.members {
			if p.stores[m] == nil {
				p.stores[m] = map[string]map[string]pvtEntry{}
			}
			if p.stores[m][w.coll] == nil {
				p.stores[m][w.coll] = map[string]pvtEntry{}
			}
			p.stores[m][w.coll][w.key] = pvtEntry{value: w.value, version: version}
		}
	}
}
