// Package ledgertest is an in-memory Fabric world state for unit tests.
// It implements the parts of shim.ChaincodeStubInterface the contracts use
// with Fabric's semantics, so tests exercise the same rules the peer
// enforces:
//
//   - transactions are explicit (Begin … Commit or Discard); writes are
//     buffered and invisible to the transaction's own reads (Fabric has no
//     read-your-writes), and applied only at Commit;
//   - Commit validates like the peer: a key read at a version that changed
//     since is an MVCC conflict, and a bounded range scan whose result
//     changed is a phantom read (*ConflictError either way);
//   - paginated queries are refused in a transaction that writes, and
//     writes after a paginated query are refused, as the peer does;
//   - composite keys, range and partial-composite-key queries with
//     pagination and bookmarks (bookmark = next key, "" when exhausted, as
//     on LevelDB), key history newest first with tx id and timestamp;
//   - the creator is a serialized msp.SerializedIdentity with a real X.509
//     certificate (see [NewIdentity]), so the cid library parses it;
//   - one chaincode event per transaction (a second SetEvent is an error
//     here, to catch contracts that would silently overwrite the first);
//   - faults can be injected per operation and key to test failing closed;
//   - private data (see private.go): collections with member organisations,
//     one private store per organisation's peer (a transaction runs on a
//     peer, by default its creator's organisation's), hashed private state
//     visible to every peer, memberOnlyRead, implicit organisation
//     collections, the transient map, GetPrivateDataHash and
//     PurgePrivateData, with Fabric's no-read-your-writes rule.
//
// Methods of the stub interface that are not implemented panic through the
// nil embedded interface, which makes unexpected use obvious.
package ledgertest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Op names a stub operation for fault injection.
type Op string

// Operations that can be made to fail.
const (
	OpGet       Op = "GetState"
	OpPut       Op = "PutState"
	OpDel       Op = "DelState"
	OpScan      Op = "Scan"
	OpHistory   Op = "GetHistoryForKey"
	OpEvent     Op = "SetEvent"
	OpTimestamp Op = "GetTxTimestamp"
)

type entry struct {
	value   []byte
	version uint64
}

type mod struct {
	txID  string
	ts    time.Time
	value []byte
	del   bool
}

type fault struct {
	op     Op
	substr string
	err    error
}

// Event is a chaincode event a committed transaction set.
type Event struct {
	TxID    string
	Name    string
	Payload []byte
}

// ConflictError is a transaction the peer would mark invalid at commit.
type ConflictError struct {
	TxID   string
	Key    string
	Reason string // "mvcc" or "phantom"
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("tx %s invalid: %s conflict on %q", e.TxID, e.Reason, strings.ReplaceAll(e.Key, "\x00", "~"))
}

// Ledger is the committed world state, history and events.
type Ledger struct {
	mu      sync.Mutex
	state   map[string]entry
	keys    []string // sorted keys of state
	history map[string][]mod
	events  []Event
	clock   time.Time
	step    time.Duration
	seq     uint64
	faults  []fault
	pvt     privateState
	// Channel is what GetChannelID returns.
	Channel string
}

// New returns an empty ledger whose first transaction is timestamped
// 2026-01-01T00:00:00Z; each Begin advances the clock by one second.
func New() *Ledger {
	return &Ledger{
		state:   map[string]entry{},
		history: map[string][]mod{},
		clock:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		step:    time.Second,
		pvt:     newPrivateState(),
		Channel: "ledgerguard",
	}
}

// SetTime sets the next transaction's timestamp.
func (l *Ledger) SetTime(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clock = t.UTC()
}

// Now returns the timestamp the next transaction will get.
func (l *Ledger) Now() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clock
}

// SetStep sets how far each Begin advances the clock.
func (l *Ledger) SetStep(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.step = d
}

// Fail makes op fail with err for keys containing substr ("" = all keys)
// until ClearFaults.
func (l *Ledger) Fail(op Op, substr string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, fault{op: op, substr: substr, err: err})
}

// ClearFaults removes every injected fault.
func (l *Ledger) ClearFaults() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = nil
}

func (l *Ledger) fault(op Op, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.faults {
		if f.op == op && strings.Contains(key, f.substr) {
			return f.err
		}
	}
	return nil
}

// Events returns every event committed so far, oldest first.
func (l *Ledger) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// CountKeys returns how many committed keys have the composite-key object
// type objectType.
func (l *Ledger) CountKeys(objectType string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	prefix := "\x00" + objectType + "\x00"
	n := 0
	for _, k := range l.keys {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// Value returns a committed value.
func (l *Ledger) Value(key string) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.state[key]
	return e.value, ok
}

// Begin starts a transaction by creator, timestamped with the ledger's
// clock, which then advances.
func (l *Ledger) Begin(creator *Identity) *Tx {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	sum := sha256.Sum256([]byte("tx" + strconv.FormatUint(l.seq, 10)))
	tx := &Tx{
		l:       l,
		id:      hex.EncodeToString(sum[:]),
		ts:      l.clock,
		creator: creator,
		writes:  map[string][]byte{},
		reads:   map[string]uint64{},
		pvtTx:   newPrivateTx(),
	}
	if creator != nil {
		tx.peer = creator.MSP
	}
	l.clock = l.clock.Add(l.step)
	return tx
}

// Submit runs fn in a new transaction by creator and commits it if fn
// succeeds, like a client's submit: a failed endorsement writes nothing.
func (l *Ledger) Submit(creator *Identity, fn func(ctx contractapi.TransactionContextInterface) error) error {
	tx := l.Begin(creator)
	if err := fn(tx.Ctx()); err != nil {
		tx.Discard()
		return err
	}
	return tx.Commit()
}

// Tx is one transaction's simulation: the stub a contract sees.
type Tx struct {
	shim.ChaincodeStubInterface

	l         *Ledger
	id        string
	ts        time.Time
	creator   *Identity
	args      [][]byte
	writes    map[string][]byte // nil value = delete
	order     []string
	reads     map[string]uint64
	ranges    []*rangeRead
	event     *Event
	paginated bool
	done      bool
	peer      string
	transient map[string][]byte
	pvtTx     privateTx
}

type kvVer struct {
	key     string
	version uint64
}

type rangeRead struct {
	start, end string
	seen       []kvVer
	exhausted  bool
}

// Ctx returns a contractapi transaction context over this transaction,
// with the client identity parsed by the cid library from the creator.
func (tx *Tx) Ctx() contractapi.TransactionContextInterface {
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(tx)
	ci, err := cid.New(tx)
	if err == nil {
		ctx.SetClientIdentity(ci)
	}
	return ctx
}

// SetArgs sets what GetArgs returns (for driving contractapi's Invoke).
func (tx *Tx) SetArgs(args ...string) {
	tx.args = nil
	for _, a := range args {
		tx.args = append(tx.args, []byte(a))
	}
}

// Written returns the keys this transaction wrote, in first-write order.
func (tx *Tx) Written() []string { return append([]string(nil), tx.order...) }

// Event returns the event this transaction set, if any.
func (tx *Tx) Event() *Event { return tx.event }

// Discard ends the transaction without committing.
func (tx *Tx) Discard() { tx.done = true }

// Commit validates the read set and range reads against the committed
// state and applies the writes, the history and the event.
func (tx *Tx) Commit() error {
	if tx.done {
		return fmt.Errorf("tx %s already ended", tx.id)
	}
	tx.done = true
	l := tx.l
	l.mu.Lock()
	defer l.mu.Unlock()
	readKeys := make([]string, 0, len(tx.reads))
	for k := range tx.reads {
		readKeys = append(readKeys, k)
	}
	sort.Strings(readKeys)
	for _, k := range readKeys {
		if l.state[k].version != tx.reads[k] {
			return &ConflictError{TxID: tx.id, Key: k, Reason: "mvcc"}
		}
	}
	if err := l.pvt.validate(tx); err != nil {
		return err
	}
	for _, r := range tx.ranges {
		end := r.end
		if !r.exhausted {
			if len(r.seen) == 0 {
				continue
			}
			end = r.seen[len(r.seen)-1].key + "\x00"
		}
		now := l.scan(r.start, end)
		if len(now) != len(r.seen) {
			return &ConflictError{TxID: tx.id, Key: r.start, Reason: "phantom"}
		}
		for i := range now {
			if now[i] != r.seen[i] {
				return &ConflictError{TxID: tx.id, Key: now[i].key, Reason: "phantom"}
			}
		}
	}
	l.seq++
	version := l.seq
	for _, k := range tx.order {
		v := tx.writes[k]
		if v == nil {
			if _, ok := l.state[k]; ok {
				delete(l.state, k)
				i := sort.SearchStrings(l.keys, k)
				l.keys = append(l.keys[:i], l.keys[i+1:]...)
			}
		} else {
			if _, ok := l.state[k]; !ok {
				i := sort.SearchStrings(l.keys, k)
				l.keys = append(l.keys, "")
				copy(l.keys[i+1:], l.keys[i:])
				l.keys[i] = k
			}
			l.state[k] = entry{value: v, version: version}
		}
		l.history[k] = append(l.history[k], mod{txID: tx.id, ts: tx.ts, value: v, del: v == nil})
	}
	l.pvt.apply(tx, version)
	if tx.event != nil {
		l.events = append(l.events, *tx.event)
	}
	return nil
}

// scan returns committed keys in [start, end) with versions; l.mu held.
func (l *Ledger) scan(start, end string) []kvVer {
	var out []kvVer
	for i := sort.SearchStrings(l.keys, start); i < len(l.keys); i++ {
		k := l.keys[i]
		if end != "" && k >= end {
			break
		}
		out = append(out, kvVer{key: k, version: l.state[k].version})
	}
	return out
}

// GetTxID implements the stub.
func (tx *Tx) GetTxID() string { return tx.id }

// GetChannelID implements the stub.
func (tx *Tx) GetChannelID() string { return tx.l.Channel }

// GetTxTimestamp implements the stub.
func (tx *Tx) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	if err := tx.l.fault(OpTimestamp, ""); err != nil {
		return nil, err
	}
	return timestamppb.New(tx.ts), nil
}

// GetCreator implements the stub.
func (tx *Tx) GetCreator() ([]byte, error) {
	if tx.creator == nil {
		return nil, nil
	}
	return tx.creator.Creator, nil
}

// GetArgs implements the stub.
func (tx *Tx) GetArgs() [][]byte { return tx.args }

// GetStringArgs implements the stub.
func (tx *Tx) GetStringArgs() []string {
	out := make([]string, len(tx.args))
	for i, a := range tx.args {
		out[i] = string(a)
	}
	return out
}

// GetFunctionAndParameters implements the stub.
func (tx *Tx) GetFunctionAndParameters() (string, []string) {
	args := tx.GetStringArgs()
	if len(args) == 0 {
		return "", nil
	}
	return args[0], args[1:]
}

// GetState reads the committed value (never this transaction's writes)
// and records the version read.
func (tx *Tx) GetState(key string) ([]byte, error) {
	if err := tx.l.fault(OpGet, key); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("key must not be an empty string")
	}
	tx.l.mu.Lock()
	defer tx.l.mu.Unlock()
	e, ok := tx.l.state[key]
	if _, seen := tx.reads[key]; !seen {
		tx.reads[key] = e.version
	}
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), e.value...), nil
}

func (tx *Tx) write(op Op, key string, value []byte) error {
	if err := tx.l.fault(op, key); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("key must not be an empty string")
	}
	if tx.paginated {
		return fmt.Errorf("txid [%s]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed", tx.id)
	}
	if _, ok := tx.writes[key]; !ok {
		tx.order = append(tx.order, key)
	}
	if len(value) == 0 {
		value = nil // Fabric treats an empty value as a delete
	}
	tx.writes[key] = value
	return nil
}

// PutState buffers a write.
func (tx *Tx) PutState(key string, value []byte) error {
	return tx.write(OpPut, key, append([]byte(nil), value...))
}

// DelState buffers a delete.
func (tx *Tx) DelState(key string) error { return tx.write(OpDel, key, nil) }

// CreateCompositeKey implements the stub.
func (tx *Tx) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return shim.CreateCompositeKey(objectType, attributes)
}

// SplitCompositeKey implements the stub.
func (tx *Tx) SplitCompositeKey(key string) (string, []string, error) {
	if !strings.HasPrefix(key, "\x00") || !strings.HasSuffix(key, "\x00") {
		return "", nil, fmt.Errorf("%q is not a composite key", key)
	}
	parts := strings.Split(key[1:len(key)-1], "\x00")
	return parts[0], parts[1:], nil
}

// SetEvent records the transaction's event; a second call is an error.
func (tx *Tx) SetEvent(name string, payload []byte) error {
	if err := tx.l.fault(OpEvent, name); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("event name can not be empty string")
	}
	if tx.event != nil {
		return fmt.Errorf("ledgertest: SetEvent called twice in tx %s (%s, then %s): Fabric keeps only the last", tx.id, tx.event.Name, name)
	}
	tx.event = &Event{TxID: tx.id, Name: name, Payload: append([]byte(nil), payload...)}
	return nil
}

func partialRange(objectType string, attrs []string) (string, string, error) {
	k, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return "", "", err
	}
	return k, k + string(rune(0x10FFFF)), nil
}

// GetStateByRange implements an unpaginated range query (recorded for
// phantom-read validation).
func (tx *Tx) GetStateByRange(startKey, endKey string) (shim.StateQueryIteratorInterface, error) {
	return tx.rangeQuery(startKey, endKey)
}

// GetStateByPartialCompositeKey implements an unpaginated prefix query
// (recorded for phantom-read validation).
func (tx *Tx) GetStateByPartialCompositeKey(objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	start, end, err := partialRange(objectType, keys)
	if err != nil {
		return nil, err
	}
	return tx.rangeQuery(start, end)
}

func (tx *Tx) rangeQuery(start, end string) (shim.StateQueryIteratorInterface, error) {
	if err := tx.l.fault(OpScan, start); err != nil {
		return nil, err
	}
	tx.l.mu.Lock()
	rows := tx.l.scan(start, end)
	values := make([][]byte, len(rows))
	for i, r := range rows {
		values[i] = tx.l.state[r.key].value
	}
	tx.l.mu.Unlock()
	rr := &rangeRead{start: start, end: end}
	tx.ranges = append(tx.ranges, rr)
	return &iterator{tx: tx, rows: rows, values: values, record: rr}, nil
}

// GetStateByRangeWithPagination implements a paginated range query.
func (tx *Tx) GetStateByRangeWithPagination(startKey, endKey string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	return tx.pagedQuery(startKey, endKey, pageSize, bookmark)
}

// GetStateByPartialCompositeKeyWithPagination implements a paginated
// prefix query.
func (tx *Tx) GetStateByPartialCompositeKeyWithPagination(objectType string, keys []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	start, end, err := partialRange(objectType, keys)
	if err != nil {
		return nil, nil, err
	}
	return tx.pagedQuery(start, end, pageSize, bookmark)
}

func (tx *Tx) pagedQuery(start, end string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if err := tx.l.fault(OpScan, start); err != nil {
		return nil, nil, err
	}
	if len(tx.order) > 0 {
		return nil, nil, fmt.Errorf("txid [%s]: unsuppored transaction. Paginated queries are supported only in a read-only transaction", tx.id)
	}
	if pageSize <= 0 {
		return nil, nil, fmt.Errorf("pagesize must be greater than zero")
	}
	tx.paginated = true
	if bookmark != "" {
		start = bookmark
	}
	tx.l.mu.Lock()
	rows := tx.l.scan(start, end)
	next := ""
	if len(rows) > int(pageSize) {
		next = rows[pageSize].key
		rows = rows[:pageSize]
	}
	values := make([][]byte, len(rows))
	for i, r := range rows {
		values[i] = tx.l.state[r.key].value
	}
	tx.l.mu.Unlock()
	meta := &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(rows)), Bookmark: next}
	return &iterator{tx: tx, rows: rows, values: values}, meta, nil
}

type iterator struct {
	tx     *Tx
	rows   []kvVer
	values [][]byte
	i      int
	record *rangeRead
	closed bool
}

// HasNext reports whether Next has a row; reaching the end marks the
// range read exhausted, which widens its phantom-read check to the range end.
func (it *iterator) HasNext() bool {
	has := !it.closed && it.i < len(it.rows)
	if !has && it.record != nil && !it.closed {
		it.record.exhausted = true
	}
	return has
}

// Close ends the iteration.
func (it *iterator) Close() error {
	it.closed = true
	return nil
}

// Next returns the next row and records it in the range read.
func (it *iterator) Next() (*queryresult.KV, error) {
	if it.closed || it.i >= len(it.rows) {
		return nil, fmt.Errorf("iterator exhausted")
	}
	if err := it.tx.l.fault(OpScan, it.rows[it.i].key); err != nil {
		return nil, err
	}
	r := it.rows[it.i]
	v := it.values[it.i]
	it.i++
	if it.record != nil {
		it.record.seen = append(it.record.seen, r)
	}
	return &queryresult.KV{Namespace: "ledgerguard", Key: r.key, Value: append([]byte(nil), v...)}, nil
}

// GetHistoryForKey returns the key's committed writes, newest first.
func (tx *Tx) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	if err := tx.l.fault(OpHistory, key); err != nil {
		return nil, err
	}
	tx.l.mu.Lock()
	mods := append([]mod(nil), tx.l.history[key]...)
	tx.l.mu.Unlock()
	for i, j := 0, len(mods)-1; i < j; i, j = i+1, j-1 {
		mods[i], mods[j] = mods[j], mods[i]
	}
	return &historyIterator{mods: mods}, nil
}

type historyIterator struct {
	mods []mod
	i    int
}

// HasNext reports whether Next has an entry.
func (h *historyIterator) HasNext() bool { return h.i < len(h.mods) }

// Close ends the iteration.
func (h *historyIterator) Close() error { return nil }

// Next returns the next (older) modification.
func (h *historyIterator) Next() (*queryresult.KeyModification, error) {
	if h.i >= len(h.mods) {
		return nil, fmt.Errorf("iterator exhausted")
	}
	m := h.mods[h.i]
	h.i++
	return &queryresult.KeyModification{TxId: m.txID, Value: m.value, Timestamp: timestamppb.New(m.ts), IsDelete: m.del}, nil
}

// Snapshot returns a copy of the committed state, for comparing two
// ledgers that ran the same transactions (determinism tests).
func (l *Ledger) Snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.state))
	for k, e := range l.state {
		out[k] = string(e.value)
	}
	return out
}
