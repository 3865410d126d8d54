package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// Reader reads indicator records; intel.Ledger has it. A read returns the
// value only where the caller's organisation may read it.
type Reader interface {
	Indicator(ctx context.Context, id string) (wire.Indicator, error)
}

// EventSource is a checkpointed chaincode event stream (gateway/fabric's
// Events): Events starts it after the checkpoint, Checkpoint records that
// an event is handled.
type EventSource interface {
	Events(ctx context.Context) (<-chan gateway.ChaincodeEvent, error)
	Checkpoint(ctx context.Context, ev gateway.ChaincodeEvent) error
}

// SyncConfig configures a [Sync].
type SyncConfig struct {
	// MSP is this organisation: it reads AMBER indicators that name it.
	MSP string
	// Path is the sync's journal: the indicators it holds, the catalog's
	// objects and the event stream's checkpoint.
	Path string
	// FS is the journal's file system (nil: the OS's).
	FS durable.FS
	// Render returns the STIX 2.1 object the catalog serves for an
	// indicator read with its value, revoked ones marked so (main passes
	// gateway/taxii.CatalogObject, gateway/stix's export); nil means the
	// indicator's own Stix as given, and no catalog object without one.
	Render func(wire.Indicator) (Object, error)
	// Readers bounds concurrent indicator reads per event (default 16):
	// a share of 2,000 indicators is read in a fraction of a second.
	Readers int
	// RetryPending is how often indicators whose value was not readable
	// yet are read again (default 2 s).
	RetryPending time.Duration
	Logger       *slog.Logger
}

// Sync keeps a [Matcher] and a [Catalog] in step with the ledger: it
// follows the IntelChanged chaincode events from a durable checkpoint,
// reads every indicator its organisation may read (CLEAR and GREEN, and
// AMBER ones naming it, once their values are stored), adds it to the
// matcher and its STIX object to the catalog at the event's ledger
// position, and removes revoked and purged ones. Expiry needs no event:
// the matcher checks valid_until at every lookup.
//
// Durability: everything it applies goes first to a journal
// (gateway/durable, framed and fsynced), with the checkpoint, so a
// restart rebuilds matcher and catalog from the journal and resumes the
// stream where it stopped without reading the ledger's history again. A
// crash between the journal write and the checkpoint makes the stream
// deliver the event again; applying it again changes nothing.
//
// Ledger order: the catalog's position of an indicator is (block, n, i)
// where n counts the IntelChanged events before it in the block (every
// valid transaction emits at most one, so n orders the transactions the
// same way on every gateway) and i is its index in the event.
type Sync struct {
	cfg SyncConfig
	led Reader
	m   *Matcher
	cat *Catalog
	j   *durable.Journal
	log *slog.Logger

	mu       sync.Mutex
	cp       cpRec
	cpSaved  time.Time
	records  int
	pending  map[string]pendRec
	objects  map[string]objRef // indicator id → its catalog object
	handled  int64
	lastSync time.Time
}

type cpRec struct {
	Block uint64 `json:"block"`
	TxID  string `json:"tx"`
	// IntelBlock and IntelN: IntelN IntelChanged events of block
	// IntelBlock are handled.
	IntelBlock uint64 `json:"intelBlock"`
	IntelN     uint32 `json:"intelN"`
}

type pendRec struct {
	ID  string   `json:"id"`
	Pos Position `json:"pos"`
}

type objRef struct {
	Group   Group  `json:"group"`
	StixID  string `json:"stixId"`
	Version string `json:"version"`
}

// record is one journal record; Op says which fields it holds.
type record struct {
	Op      string    `json:"op"`
	Entry   *entryRec `json:"entry,omitempty"`
	ID      string    `json:"id,omitempty"`
	Pend    *pendRec  `json:"pend,omitempty"`
	Group   Group     `json:"group,omitempty"`
	Object  *Object   `json:"object,omitempty"`
	ObjOf   string    `json:"objOf,omitempty"`
	CP      *cpRec    `json:"cp,omitempty"`
	Version string    `json:"version,omitempty"`
}

const (
	opPut     = "put"     // Entry into the matcher
	opDrop    = "drop"    // ID out of the matcher (and out of pending)
	opPend    = "pend"    // Pend: readable, value not yet there
	opAdd     = "add"     // Object into the catalog's Group, for indicator ObjOf
	opRemove  = "remove"  // every version of ObjOf's object out of the catalog
	opCP      = "cp"      // CP
	opResolve = "resolve" // ID out of pending
)

type entryRec struct {
	ID         string   `json:"id"`
	Hash       string   `json:"hash"`
	Type       string   `json:"type"`
	Value      string   `json:"value"`
	TLP        string   `json:"tlp"`
	SharedBy   string   `json:"sharedBy"`
	Confidence int      `json:"confidence"`
	Techniques []string `json:"techniques,omitempty"`
	ValidFrom  int64    `json:"validFrom,omitempty"`
	ValidUntil int64    `json:"validUntil,omitempty"`
}

func (r *entryRec) entry() *Entry {
	return &Entry{ID: r.ID, Hash: r.Hash, Type: r.Type, Value: r.Value, TLP: r.TLP, SharedBy: r.SharedBy,
		Confidence: r.Confidence, Techniques: r.Techniques, ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil}
}

func recOf(e *Entry) *entryRec {
	return &entryRec{ID: e.ID, Hash: e.Hash, Type: e.Type, Value: e.Value, TLP: e.TLP, SharedBy: e.SharedBy,
		Confidence: e.Confidence, Techniques: e.Techniques, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil}
}

// OpenSync opens (or creates) the journal at cfg.Path and rebuilds m and
// cat from it. m and cat must be empty.
func OpenSync(cfg SyncConfig, led Reader, m *Matcher, cat *Catalog) (*Sync, error) {
	if cfg.MSP == "" || cfg.Path == "" || led == nil || m == nil || cat == nil {
		return nil, errors.New("intel sync: MSP, Path, reader, matcher and catalog are required")
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 16
	}
	if cfg.RetryPending <= 0 {
		cfg.RetryPending = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Sync{cfg: cfg, led: led, m: m, cat: cat, log: cfg.Logger,
		pending: map[string]pendRec{}, objects: map[string]objRef{}}
	j, err := durable.OpenJournal(cfg.FS, cfg.Path, func(b []byte) error {
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		s.records++
		return s.apply(r)
	})
	if err != nil {
		return nil, fmt.Errorf("intel sync: %w", err)
	}
	s.j = j
	return s, nil
}

// Close closes the journal.
func (s *Sync) Close() error { return s.j.Close() }

// apply changes matcher, catalog and the sync's own state by one record.
// It is idempotent: the journal may hold an event's records twice (a
// crash before its checkpoint).
func (s *Sync) apply(r record) error {
	switch r.Op {
	case opPut:
		if r.Entry == nil {
			return errors.New("put without entry")
		}
		s.m.Put(r.Entry.entry())
		delete(s.pending, r.Entry.ID)
	case opDrop:
		s.m.Remove(r.ID)
		delete(s.pending, r.ID)
	case opPend:
		if r.Pend == nil {
			return errors.New("pend without position")
		}
		s.pending[r.Pend.ID] = *r.Pend
	case opResolve:
		delete(s.pending, r.ID)
	case opAdd:
		if r.Object == nil {
			return errors.New("add without object")
		}
		err := s.cat.Add(r.Group, *r.Object)
		var ooo *OutOfOrderError
		if errors.As(err, &ooo) {
			return nil // already added: a repeated event's record
		}
		if err != nil {
			return err
		}
		s.objects[r.ObjOf] = objRef{Group: r.Group, StixID: r.Object.ID, Version: r.Object.Version}
	case opRemove:
		if o, ok := s.objects[r.ObjOf]; ok {
			s.cat.Remove(o.Group, o.StixID)
			delete(s.objects, r.ObjOf)
		}
	case opCP:
		if r.CP == nil {
			return errors.New("cp without position")
		}
		s.cp = *r.CP
	default:
		return fmt.Errorf("unknown op %q", r.Op)
	}
	return nil
}

// BlockNumber is the block of the next event to handle (fabric-gateway's
// Checkpoint).
func (s *Sync) BlockNumber() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp.Block
}

// TransactionID is the last handled transaction in that block.
func (s *Sync) TransactionID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp.TxID
}

// cpEvery bounds how long the checkpoint may lag behind events of other
// contracts (alerts, responses), which the stream delivers too: those are
// not written one by one (an fsync each), since delivering them again
// after a crash is harmless.
const cpEvery = 2 * time.Second

// CheckpointTransaction records that the event of txID in block is
// handled. An IntelChanged event's position was journaled with its
// records (Handle); other events' positions are written at most every
// cpEvery.
func (s *Sync) CheckpointTransaction(block uint64, txID string) error {
	s.mu.Lock()
	s.cp.Block, s.cp.TxID = block, txID
	write := time.Since(s.cpSaved) >= cpEvery
	cp := s.cp
	s.mu.Unlock()
	if !write {
		return nil
	}
	if err := s.append(record{Op: opCP, CP: &cp}); err != nil {
		return err
	}
	s.mu.Lock()
	s.cpSaved = time.Now()
	s.mu.Unlock()
	return nil
}

func (s *Sync) append(rs ...record) error {
	bs := make([][]byte, len(rs))
	for i, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("intel sync: encode: %w", err)
		}
		bs[i] = b
	}
	if err := s.j.Append(bs...); err != nil {
		return fmt.Errorf("intel sync: %w", err)
	}
	s.mu.Lock()
	s.records += len(rs)
	s.mu.Unlock()
	return nil
}

// commit journals rs, then applies them.
func (s *Sync) commit(rs []record) error {
	if len(rs) == 0 {
		return nil
	}
	if err := s.append(rs...); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		if err := s.apply(r); err != nil {
			return fmt.Errorf("intel sync: apply %s: %w", r.Op, err)
		}
	}
	return nil
}

// Status is a snapshot of the sync.
type Status struct {
	Indicators int       `json:"indicators"`
	Pending    int       `json:"pending"`
	Block      uint64    `json:"block"`
	Handled    int64     `json:"handled"`
	LastSync   time.Time `json:"lastSync,omitzero"`
}

// Status returns a snapshot.
func (s *Sync) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Indicators: s.m.Len(), Pending: len(s.pending), Block: s.cp.Block, Handled: s.handled, LastSync: s.lastSync}
}

// Run follows src until ctx ends, handling every IntelChanged event and
// checkpointing each event once handled. A failed read is retried with
// backoff on the same event, so nothing is skipped; a broken stream is
// restarted from the checkpoint.
func (s *Sync) Run(ctx context.Context, src EventSource) error {
	go s.retryPending(ctx)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		ch, err := src.Events(ctx)
		if err != nil {
			s.log.Warn("intel sync: starting the event stream failed; will retry", "err", err)
			if !sleep(ctx, backoff) {
				break
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		for {
			var ev gateway.ChaincodeEvent
			var open bool
			select {
			case <-ctx.Done():
				return ctx.Err()
			case ev, open = <-ch:
			}
			if !open {
				break
			}
			if ev.Name == wire.EventIntelChanged {
				for {
					err := s.Handle(ctx, ev)
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						return ctx.Err()
					}
					var jerr *durable.Error
					if errors.As(err, &jerr) {
						return err // the journal is broken: stop the gateway
					}
					s.log.Warn("intel sync: handling an event failed; will retry", "block", ev.BlockNumber, "tx", ev.TxID, "err", err)
					if !sleep(ctx, backoff) {
						return ctx.Err()
					}
					backoff = min(2*backoff, 10*time.Second)
				}
				backoff = 100 * time.Millisecond
			}
			if err := src.Checkpoint(ctx, ev); err != nil {
				return fmt.Errorf("intel sync: checkpoint: %w", err)
			}
		}
		if !sleep(ctx, backoff) {
			break
		}
	}
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// Handle applies one IntelChanged event. It reads the ledger, journals
// what it will apply together with the event's position (the checkpoint),
// then applies it. On error nothing of the event is applied in memory (the
// journal may hold part of it, which a repeat makes whole).
func (s *Sync) Handle(ctx context.Context, ev gateway.ChaincodeEvent) error {
	var ie wire.IntelEvent
	if err := json.Unmarshal(ev.Payload, &ie); err != nil {
		s.log.Warn("intel sync: ignoring an IntelChanged event that does not decode", "block", ev.BlockNumber, "tx", ev.TxID, "err", err)
		return s.advance(ev, nil)
	}
	for i := range ie.Indicators {
		// A share's event names its sharer once (wire.IntelEvent).
		if ie.Indicators[i].SharedBy == "" {
			ie.Indicators[i].SharedBy = ie.SharedBy
		}
	}
	s.mu.Lock()
	n := uint32(0)
	if s.cp.IntelBlock == ev.BlockNumber {
		n = s.cp.IntelN
	}
	s.mu.Unlock()
	var rs []record
	var err error
	switch ie.Kind {
	case wire.IntelShared, wire.IntelValues:
		rs, err = s.shared(ctx, ev, n, ie)
	case wire.IntelRevoked:
		rs, err = s.revoked(ctx, ev, n, ie)
	case wire.IntelPurged:
		for _, ref := range ie.Indicators {
			rs = append(rs, record{Op: opDrop, ID: ref.ID}, record{Op: opRemove, ObjOf: ref.ID})
		}
	}
	if err != nil {
		return err
	}
	next := cpRec{IntelBlock: ev.BlockNumber, IntelN: n + 1}
	return s.advance(ev, rs, next)
}

// advance commits rs and the event's place in the block's order.
func (s *Sync) advance(ev gateway.ChaincodeEvent, rs []record, next ...cpRec) error {
	s.mu.Lock()
	cp := s.cp
	s.mu.Unlock()
	if len(next) == 1 {
		cp.IntelBlock, cp.IntelN = next[0].IntelBlock, next[0].IntelN
	}
	cp.Block, cp.TxID = ev.BlockNumber, ev.TxID
	rs = append(rs, record{Op: opCP, CP: &cp})
	if err := s.commit(rs); err != nil {
		return err
	}
	s.mu.Lock()
	s.handled++
	s.lastSync = time.Now()
	s.cpSaved = time.Now()
	s.mu.Unlock()
	s.maybeCompact()
	return nil
}

// readable reports whether this organisation may read ref's value.
func (s *Sync) readable(ref wire.IndicatorRef) bool {
	switch ref.TLP {
	case wire.TLPClear, wire.TLPGreen:
		return true
	case wire.TLPAmber, wire.TLPAmberStrict:
		return ref.SharedBy == s.cfg.MSP || slices.Contains(ref.Recipients, s.cfg.MSP)
	}
	return false
}

// BatchReader reads many indicator records in one call (gateway/fabric's
// Ledger: intel:GetIndicators): those that exist and the caller's
// organisation may see, the others left out.
type BatchReader interface {
	IndicatorsByID(ctx context.Context, ids []string) ([]wire.Indicator, error)
}

// batchReadMax bounds the ids of one BatchReader call (the chaincode
// takes at most wire.MaxIndicatorsPerTx; smaller calls keep each answer
// a few hundred kilobytes).
const batchReadMax = 500

// read reads the indicators ids: in calls of up to batchReadMax when the
// ledger is a [BatchReader] (a share's event then costs the peer one
// chaincode call per 500 indicators, each value pack read once, instead
// of one call per indicator), otherwise, or when a batch call fails (a
// chaincode without GetIndicators), one by one, concurrently. A record
// the ledger does not show this organisation comes back as ok false.
func (s *Sync) read(ctx context.Context, ids []string) ([]wire.Indicator, []bool, error) {
	if br, isBatch := s.led.(BatchReader); isBatch {
		out := make([]wire.Indicator, len(ids))
		ok := make([]bool, len(ids))
		at := make(map[string]int, len(ids))
		for i, id := range ids {
			at[id] = i
		}
		var err error
		for start := 0; start < len(ids) && err == nil; start += batchReadMax {
			var got []wire.Indicator
			if got, err = br.IndicatorsByID(ctx, ids[start:min(start+batchReadMax, len(ids))]); err == nil {
				for _, ind := range got {
					if i, asked := at[ind.ID]; asked {
						out[i], ok[i] = ind, true
					}
				}
			}
		}
		if err == nil {
			return out, ok, nil
		}
		s.log.Debug("intel sync: batch read failed, reading one by one", "err", err)
	}
	return s.readEach(ctx, ids)
}

// readEach reads the indicators ids concurrently; a record the ledger
// does not show this organisation (NOT_FOUND, DENIED) comes back as ok
// false.
func (s *Sync) readEach(ctx context.Context, ids []string) ([]wire.Indicator, []bool, error) {
	out := make([]wire.Indicator, len(ids))
	ok := make([]bool, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, s.cfg.Readers)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ind, err := s.led.Indicator(ctx, id)
			var rej *gateway.LedgerRejectedError
			switch {
			case err == nil:
				out[i], ok[i] = ind, true
			case errors.As(err, &rej) && (rej.Code == wire.CodeNotFound || rej.Code == wire.CodeDenied):
			default:
				errs[i] = fmt.Errorf("read indicator %s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	return out, ok, errors.Join(errs...)
}

// shared handles a share (the public records, with CLEAR/GREEN values) or
// a values transaction (AMBER values for their recipients): every
// readable indicator whose value is there goes into the matcher and, with
// its STIX object, into the catalog; a readable one whose value is not
// there yet waits in pending.
func (s *Sync) shared(ctx context.Context, ev gateway.ChaincodeEvent, n uint32, ie wire.IntelEvent) ([]record, error) {
	var ids []string
	var idx []int
	for i, ref := range ie.Indicators {
		if s.readable(ref) {
			ids = append(ids, ref.ID)
			idx = append(idx, i)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	inds, ok, err := s.read(ctx, ids)
	if err != nil {
		return nil, err
	}
	var rs []record
	for k, ind := range inds {
		if !ok[k] {
			continue
		}
		pos := Position{Block: ev.BlockNumber, Tx: n, Index: uint32(idx[k])}
		rs = append(rs, s.recordsFor(ind, pos, ie.Kind == wire.IntelShared)...)
	}
	return rs, nil
}

// recordsFor returns the records that bring ind into matcher and catalog
// at pos. A record without its value waits in pending when waitValue (a
// CLEAR/GREEN value whose private data the peer has not received yet, or
// an AMBER one whose values transaction is still to come).
func (s *Sync) recordsFor(ind wire.Indicator, pos Position, waitValue bool) []record {
	if ind.Status == wire.IndicatorRevoked || ind.Status == wire.IndicatorPurged {
		return []record{{Op: opDrop, ID: ind.ID}}
	}
	e, ok := EntryOf(ind)
	if !ok {
		if ind.Value != "" {
			s.log.Warn("intel sync: indicator value is not canonical for its type; not matched", "id", ind.ID, "type", ind.Type)
			return nil
		}
		if waitValue && !Restricted(ind.TLP) {
			return []record{{Op: opPend, Pend: &pendRec{ID: ind.ID, Pos: pos}}}
		}
		return nil // AMBER: its values transaction brings it
	}
	rs := []record{{Op: opPut, Entry: recOf(e)}}
	if obj, ok := s.object(ind, pos); ok {
		s.mu.Lock()
		have, had := s.objects[ind.ID]
		s.mu.Unlock()
		if !had || have.Version != obj.Version {
			g, _ := GroupOf(ind.TLP)
			rs = append(rs, record{Op: opAdd, Group: g, Object: &obj, ObjOf: ind.ID})
		}
	}
	return rs
}

// object renders ind's catalog object at pos.
func (s *Sync) object(ind wire.Indicator, pos Position) (Object, bool) {
	if _, ok := GroupOf(ind.TLP); !ok {
		return Object{}, false
	}
	var o Object
	var err error
	if s.cfg.Render != nil {
		o, err = s.cfg.Render(ind)
	} else if ind.Stix != "" {
		o, err = objectOf(json.RawMessage(ind.Stix))
	} else {
		return Object{}, false
	}
	if err != nil {
		s.log.Warn("intel sync: rendering the indicator's STIX object failed; not in the catalog", "id", ind.ID, "err", err)
		return Object{}, false
	}
	o.Pos = pos
	o.DateAdded = ind.SharedAt.Time
	if o.DateAdded.IsZero() {
		o.DateAdded = time.Now().UTC()
	}
	return o, true
}

// objectOf reads a STIX object's identity from its JSON.
func objectOf(body json.RawMessage) (Object, error) {
	var head struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		Modified    string `json:"modified"`
		Created     string `json:"created"`
		SpecVersion string `json:"spec_version"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return Object{}, err
	}
	if head.ID == "" || head.Type == "" {
		return Object{}, errors.New("STIX object without id or type")
	}
	v := head.Modified
	if v == "" {
		v = head.Created
	}
	if head.SpecVersion == "" {
		head.SpecVersion = "2.1"
	}
	return Object{ID: head.ID, Type: head.Type, Version: v, SpecVersion: head.SpecVersion, Body: body}, nil
}

// stixTime is STIX 2.1's timestamp format with millisecond precision.
const stixTime = "2006-01-02T15:04:05.000Z"

// revoked drops revoked indicators from the matcher and adds to the
// catalog a new version of each one's object marked revoked.
func (s *Sync) revoked(ctx context.Context, ev gateway.ChaincodeEvent, n uint32, ie wire.IntelEvent) ([]record, error) {
	var rs []record
	var ids []string
	var idx []int
	for i, ref := range ie.Indicators {
		rs = append(rs, record{Op: opDrop, ID: ref.ID})
		s.mu.Lock()
		_, had := s.objects[ref.ID]
		s.mu.Unlock()
		if had {
			ids = append(ids, ref.ID)
			idx = append(idx, i)
		}
	}
	if len(ids) == 0 {
		return rs, nil
	}
	inds, ok, err := s.read(ctx, ids)
	if err != nil {
		return nil, err
	}
	for k, id := range ids {
		s.mu.Lock()
		have := s.objects[id]
		s.mu.Unlock()
		at := time.Now().UTC()
		if ok[k] && !inds[k].RevokedAt.IsZero() {
			at = inds[k].RevokedAt.UTC()
		}
		pos := Position{Block: ev.BlockNumber, Tx: n, Index: uint32(idx[k])}
		if ok[k] && inds[k].Value != "" && s.cfg.Render != nil {
			// The renderer marks a revoked record revoked, modified at
			// its revocation: the same version every gateway serves.
			if o, err := s.cfg.Render(inds[k]); err == nil {
				o.Pos, o.DateAdded = pos, at
				rs = append(rs, record{Op: opAdd, Group: have.Group, Object: &o, ObjOf: id})
				continue
			}
		}
		objs, _ := s.cat.Versions(ctx, have.Group, have.StixID)
		if len(objs) == 0 {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(objs[len(objs)-1].Body, &body); err != nil {
			continue
		}
		body["revoked"] = true
		body["modified"] = at.Format(stixTime)
		b, err := json.Marshal(body)
		if err != nil {
			continue
		}
		o, err := objectOf(b)
		if err != nil {
			continue
		}
		o.Pos, o.DateAdded = pos, at
		rs = append(rs, record{Op: opAdd, Group: have.Group, Object: &o, ObjOf: id})
	}
	return rs, nil
}

// retryPending reads pending indicators again until their value is
// there (private data the peer received late).
func (s *Sync) retryPending(ctx context.Context) {
	t := time.NewTicker(s.cfg.RetryPending)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		var ps []pendRec
		for _, p := range s.pending {
			ps = append(ps, p)
		}
		s.mu.Unlock()
		if len(ps) == 0 {
			continue
		}
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		inds, ok, err := s.read(ctx, ids)
		if err != nil {
			s.log.Warn("intel sync: reading pending indicators failed; will retry", "err", err)
		}
		var rs []record
		for i, ind := range inds {
			switch {
			case !ok[i] && err == nil:
				rs = append(rs, record{Op: opResolve, ID: ps[i].ID}) // hidden now: nothing to wait for
			case ok[i] && ind.Value != "":
				rs = append(rs, s.recordsFor(ind, ps[i].Pos, false)...)
				rs = append(rs, record{Op: opResolve, ID: ps[i].ID})
			}
		}
		if err := s.commit(rs); err != nil {
			s.log.Warn("intel sync: recording pending indicators failed", "err", err)
		}
	}
}

// maybeCompact rewrites the journal with the live state once it holds
// more than twice as many records as that state needs.
func (s *Sync) maybeCompact() {
	s.mu.Lock()
	live := s.m.Len() + len(s.objects) + len(s.pending) + 1
	big := s.records > 2*live+1024
	s.mu.Unlock()
	if !big {
		return
	}
	if err := s.compact(); err != nil {
		s.log.Warn("intel sync: compacting the journal failed", "err", err)
	}
}

func (s *Sync) compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rs [][]byte
	add := func(r record) error {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		rs = append(rs, b)
		return nil
	}
	s.m.mu.RLock()
	for _, e := range s.m.byID {
		if err := add(record{Op: opPut, Entry: recOf(e)}); err != nil {
			s.m.mu.RUnlock()
			return err
		}
	}
	s.m.mu.RUnlock()
	for _, p := range s.pending {
		if err := add(record{Op: opPend, Pend: &p}); err != nil {
			return err
		}
	}
	// Catalog objects in ledger order per group, each with the indicator
	// it belongs to (its latest version is what objects names).
	owner := map[string]string{}
	for id, o := range s.objects {
		owner[string(o.Group)+"\x00"+o.StixID] = id
	}
	for _, g := range Groups {
		var err error
		scanErr := s.cat.Scan(context.Background(), g, Position{}, time.Time{}, func(o Object) bool {
			err = add(record{Op: opAdd, Group: g, Object: &o, ObjOf: owner[string(g)+"\x00"+o.ID]})
			return err == nil
		})
		if err != nil {
			return err
		}
		if scanErr != nil {
			return scanErr
		}
	}
	cp := s.cp
	if err := add(record{Op: opCP, CP: &cp}); err != nil {
		return err
	}
	if err := s.j.Rewrite(rs); err != nil {
		return err
	}
	s.records = len(rs)
	return nil
}
