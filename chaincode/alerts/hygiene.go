package alerts

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgerview"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/policy"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// hygiene applies the consortium's active hygiene rules (package hygiene)
// to the new alerts of one RaiseAlerts transaction.
//
// Suppression: the first in-force suppress rule (rule-id order) in scope
// whose condition matches marks the alert suppressed: it is recorded as
// usual (citing the rule) but never planned.
//
// Deduplication: the first in-force dedup rule in scope whose condition
// matches puts the alert in a window of the rule's WindowSeconds of event
// time (fixed windows from the Unix epoch). Alerts of one organisation
// with the same detector (model or indicator source, any version),
// category, asset and principal, and the same suppression outcome, in the
// same window share one wire.DedupRecord under
// (msp, digest, windowStart): the first becomes the alert (recorded in
// its set, planned), each later one is merged — its set keeps a
// wire.MergedDetection citing its event, and the record's count and
// last-seen grow. A transaction writes each record it touched once, so
// its keys are one per (entity, detector, category, window): concurrent
// transactions about other entities touch disjoint keys; two about the
// same entity and window conflict on the record (MVCC) and the gateway
// retries the second, which then merges.
type hygiene struct {
	stub     shim.ChaincodeStubInterface
	now      wire.Time
	txID     string
	loaded   bool
	suppress []rule
	dedup    []rule
	records  map[string]*dedupEntry // by record key
}

type rule struct {
	r    wire.HygieneRule
	cond *policy.Condition
}

type dedupEntry struct {
	rec   wire.DedupRecord
	dirty bool
}

func newHygiene(stub shim.ChaincodeStubInterface, now wire.Time, txID string) *hygiene {
	return &hygiene{stub: stub, now: now, txID: txID, records: map[string]*dedupEntry{}}
}

func (h *hygiene) load() error {
	if h.loaded {
		return nil
	}
	active, err := ledgerview.ActiveHygieneRules(h.stub)
	if err != nil {
		return fmt.Errorf("load hygiene rules: %w", err)
	}
	for _, r := range active {
		if !r.InForce(h.now) {
			continue
		}
		// A stored rule compiled at proposal; one that no longer compiles
		// matches nothing rather than blocking every alert.
		cond, err := policy.CompileCached(r.Condition)
		if err != nil {
			continue
		}
		switch r.Kind {
		case wire.RuleSuppress:
			h.suppress = append(h.suppress, rule{r: r, cond: cond})
		case wire.RuleDedup:
			h.dedup = append(h.dedup, rule{r: r, cond: cond})
		}
	}
	h.loaded = true
	return nil
}

// first returns the first rule in scope whose condition matches a (an
// evaluation error is no match).
func first(rules []rule, a *wire.Alert, in policy.Input) *rule {
	for i := range rules {
		r := &rules[i]
		if wire.ScopeOf(r.r.Scope) == wire.ScopeOrg && r.r.Owner != a.MSP {
			continue
		}
		if ok, err := r.cond.MatchInput(in); err == nil && ok {
			return r
		}
	}
	return nil
}

// apply decides for a new alert: it sets a.SuppressedBy when a suppress
// rule matches, and for a dedup rule either makes a the window's alert
// (setting a.DedupKey) or returns the record a merges into (merged
// true, count already grown).
func (h *hygiene) apply(a *wire.Alert) (into *wire.DedupRecord, merged bool, err error) {
	if err := h.load(); err != nil {
		return nil, false, err
	}
	if len(h.suppress) == 0 && len(h.dedup) == 0 {
		return nil, false, nil
	}
	vars := policy.VarsOf(a)
	in := policy.NewInput(&vars) // bound once for every rule
	if r := first(h.suppress, a, in); r != nil {
		a.SuppressedBy = &wire.RuleRef{ID: r.r.ID, Version: r.r.Version}
	}
	r := first(h.dedup, a, in)
	if r == nil {
		return nil, false, nil
	}
	w := r.r.WindowSeconds
	sec := a.EventTime.Unix()
	start := sec - ((sec%w)+w)%w
	if start < 0 {
		start = 0
	}
	digest := DedupDigest(a, w)
	window := keys.Uint20(uint64(start))
	key, err := keys.Key(keys.Dedup, a.MSP, digest, window)
	if err != nil {
		return nil, false, err
	}
	e, ok := h.records[key]
	if !ok {
		rec, found, err := state.Get[wire.DedupRecord](h.stub, key)
		if err != nil {
			return nil, false, err
		}
		if found {
			e = &dedupEntry{rec: *rec}
			h.records[key] = e
		}
	}
	if e == nil {
		h.records[key] = &dedupEntry{dirty: true, rec: wire.DedupRecord{
			MSP: a.MSP, Key: digest, WindowStart: wire.NewTime(unix(start)), WindowSeconds: w,
			Rule: wire.RuleRef{ID: r.r.ID, Version: r.r.Version}, BatchID: a.BatchID, AlertID: a.ID,
			Count: 1, FirstSeen: a.EventTime, LastSeen: a.EventTime, UpdatedTx: h.txID,
		}}
		a.DedupKey = digest + "." + window
		return nil, false, nil
	}
	e.dirty = true
	e.rec.Count++
	if a.EventTime.After(e.rec.LastSeen.Time) {
		e.rec.LastSeen = a.EventTime
	}
	if a.EventTime.Before(e.rec.FirstSeen.Time) {
		e.rec.FirstSeen = a.EventTime
	}
	e.rec.UpdatedTx = h.txID
	return &e.rec, true, nil
}

// flush writes every record the transaction changed, in key order.
func (h *hygiene) flush() error {
	ks := make([]string, 0, len(h.records))
	for k, e := range h.records {
		if e.dirty {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	for _, k := range ks {
		if err := state.Put(h.stub, k, &h.records[k].rec); err != nil {
			return err
		}
	}
	return nil
}

// DedupDigest is the record digest of alert a under a window of w
// seconds: SHA-256 over its organisation, detector id, category, asset,
// principal, whether it is suppressed and the window length, so different
// entities, detectors, categories or rules never share a record.
func DedupDigest(a *wire.Alert, w int64) string {
	s := "n"
	if a.SuppressedBy != nil {
		s = "s"
	}
	return keys.Digest(strings.Join([]string{a.MSP, a.Detector.ID, a.Category, a.Asset, a.Principal, s, strconv.FormatInt(w, 10)}, "\x00"))
}

// fillDedup sets a's Count and LastSeen from its dedup record (when a
// dedup rule made it a window's alert).
func fillDedup(stub shim.ChaincodeStubInterface, a *wire.Alert) error {
	if a.DedupKey == "" {
		return nil
	}
	digest, window, ok := strings.Cut(a.DedupKey, ".")
	if !ok {
		return &state.LedgerError{Op: "decode", Key: a.ID, Err: state.Inconsistent("alert %s has a malformed dedup key %q", a.ID, a.DedupKey)}
	}
	key, err := keys.Key(keys.Dedup, a.MSP, digest, window)
	if err != nil {
		return err
	}
	rec, found, err := state.Get[wire.DedupRecord](stub, key)
	if err != nil {
		return err
	}
	if found {
		a.Count, a.LastSeen = rec.Count, rec.LastSeen
	}
	return nil
}

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// trailItem is one write to a deduplicated alert's status record or dedup
// record, as dedupTrail collects them.
type trailItem struct {
	txID   string
	at     wire.Time
	change *wire.AlertStatusChange // status record write (nil with rec nil: a delete)
	rec    *wire.DedupRecord       // dedup record write
}

// dedupTrail returns a deduplicated alert's history entries after its
// raise, newest first, each holding the alert as that transaction left it
// (status and count), and the raise entry's alert (with the count its own
// transaction left). Both keys' histories are read whole (Fabric loads a
// key's history into memory anyway; a dedup record is written at most
// once per transaction within its window).
func dedupTrail(stub shim.ChaincodeStubInterface, r *recorded) ([]wire.HistoryEntry[wire.Alert], wire.Alert, error) {
	raised := r.raised
	digest, window, _ := strings.Cut(raised.DedupKey, ".")
	dKey, err := keys.Key(keys.Dedup, raised.MSP, digest, window)
	if err != nil {
		return nil, raised, err
	}
	var items []trailItem
	read := func(key string, decode func(v []byte, it *trailItem) error) error {
		hist, err := stub.GetHistoryForKey(key)
		if err != nil {
			return &state.LedgerError{Op: "history", Key: key, Err: err}
		}
		defer hist.Close()
		for hist.HasNext() {
			m, err := hist.Next()
			if err != nil {
				return &state.LedgerError{Op: "history", Key: key, Err: err}
			}
			it := trailItem{txID: m.TxId}
			if m.Timestamp != nil {
				it.at = wire.NewTime(m.Timestamp.AsTime())
			}
			if !m.IsDelete {
				if err := decode(m.Value, &it); err != nil {
					return &state.LedgerError{Op: "decode history", Key: key, Err: err}
				}
			}
			items = append(items, it)
		}
		return nil
	}
	if err := read(r.statusKey, func(v []byte, it *trailItem) error {
		it.change = new(wire.AlertStatusChange)
		return json.Unmarshal(v, it.change)
	}); err != nil {
		return nil, raised, err
	}
	if err := read(dKey, func(v []byte, it *trailItem) error {
		it.rec = new(wire.DedupRecord)
		return json.Unmarshal(v, it.rec)
	}); err != nil {
		return nil, raised, err
	}
	// Chronological order by commit timestamp (ties keep read order).
	sort.SliceStable(items, func(i, j int) bool { return items[i].at.Before(items[j].at.Time) })
	cur := raised
	var out []wire.HistoryEntry[wire.Alert]
	for _, it := range items {
		if it.rec != nil && it.txID == raised.RaisedTx {
			raised.Count, raised.LastSeen = it.rec.Count, it.rec.LastSeen
			cur.Count, cur.LastSeen = it.rec.Count, it.rec.LastSeen
			continue
		}
		e := wire.HistoryEntry[wire.Alert]{TxID: it.txID, Timestamp: it.at}
		switch {
		case it.rec != nil:
			cur.Count, cur.LastSeen = it.rec.Count, it.rec.LastSeen
		case it.change != nil:
			cur.Apply(it.change)
		default:
			e.IsDelete = true
		}
		if !e.IsDelete {
			v := cur
			e.Value = &v
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, raised, nil
}
