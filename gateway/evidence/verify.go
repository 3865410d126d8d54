package evidence

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
)

// Kind classifies a Finding.
type Kind string

// The kinds of problem Verify reports. The first four name an event (id and
// seq; a removed event has only its seq, unless the bundle's query listed
// its id); see AnalyzeLeaves for their exact rules.
const (
	KindModified    Kind = "modified"    // an event's bytes are not the anchored leaf at its seq
	KindRemoved     Kind = "removed"     // a seq of an exported batch (or a requested event) is missing
	KindInserted    Kind = "inserted"    // an entry that is not an anchored leaf of its batch, or a duplicate
	KindReordered   Kind = "reordered"   // an anchored leaf listed at another seq or out of order
	KindRoot        Kind = "root"        // a batch's root differs from the anchored one, or its leaves do not recompute it
	KindBatch       Kind = "batch"       // a batch record is inconsistent with itself, the header or its anchor
	KindTransaction Kind = "transaction" // the anchoring transaction is invalid, not this batch's, or altered
	KindEndorsement Kind = "endorsement" // an endorsement fails, or the endorsement policy is not satisfied
	KindConsistency Kind = "consistency" // consecutive batches are not consistent
	KindMalformed   Kind = "malformed"   // a bundle line cannot be decoded
	KindLedger      Kind = "ledger"      // (online) the live ledger disagrees with the bundle
)

// Finding is one problem Verify found. The fields that apply are set:
// BatchID and TxID for batch-level problems, EventID/Seq for events, Line
// for the bundle line at fault. Err, when set, is the cause (errors.Is
// with ErrBadSig, ErrHighS, ErrUnknownMSP, ...).
type Finding struct {
	Kind    Kind
	BatchID string
	TxID    string
	EventID string
	Seq     uint64
	HasSeq  bool
	Line    int
	Detail  string
	Err     error
}

// String renders the finding on one line, naming the event and batch.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	b.WriteString(":")
	switch {
	case f.EventID != "" && f.HasSeq:
		fmt.Fprintf(&b, " event %s seq %d", f.EventID, f.Seq)
	case f.EventID != "":
		fmt.Fprintf(&b, " event %s", f.EventID)
	case f.HasSeq:
		fmt.Fprintf(&b, " event at seq %d", f.Seq)
	}
	if f.BatchID != "" {
		fmt.Fprintf(&b, " batch %s", f.BatchID)
	}
	if f.TxID != "" {
		fmt.Fprintf(&b, " tx %s", f.TxID)
	}
	if f.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", f.Line)
	}
	b.WriteString(": ")
	b.WriteString(f.Detail)
	return b.String()
}

// Report is the outcome of Verify.
type Report struct {
	Channel    string
	Chaincode  string
	GatewayMSP string
	GatewayID  string
	Orgs       []OrgSummary
	// Counts of what was checked: events and batches read, transactions
	// checked, endorsements that verified.
	Events       int
	Batches      int
	Transactions int
	Endorsements int
	Findings     []Finding
}

// OK reports whether everything verified.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// OnlineSource is the live ledger for the online check (gateway/fabric's
// EvidenceSource implements it).
type OnlineSource interface {
	// AnchoredBatch returns the batch record the ledger holds for batchID,
	// or an error wrapping ErrNotAnchored.
	AnchoredBatch(ctx context.Context, batchID string) (wire.Batch, error)
	// ChannelMSPs returns the channel's application organisations from its
	// current configuration.
	ChannelMSPs(ctx context.Context) ([]OrgMSP, error)
}

// ErrNotAnchored reports that the ledger holds no record of a batch.
var ErrNotAnchored = errors.New("batch not anchored on the ledger")

// Progress is what Verify has done so far; totals are the header's claims.
type Progress struct {
	Events, TotalEvents   int
	Batches, TotalBatches int
}

type verifyConfig struct {
	online   OnlineSource
	progress func(Progress)
}

// VerifyOption configures Verify.
type VerifyOption func(*verifyConfig) error

// WithOnline also compares the bundle with the live ledger: each batch's
// anchored record (root, sizes, transaction id) and the organisations' CA
// certificates. Without it Verify touches no network.
func WithOnline(src OnlineSource) VerifyOption {
	return func(c *verifyConfig) error {
		if src == nil {
			return errors.New("evidence: WithOnline: nil source")
		}
		c.online = src
		return nil
	}
}

// WithProgress calls f from Verify's goroutine after every
// ProgressEvery events and after each batch; f should return quickly.
func WithProgress(f func(Progress)) VerifyOption {
	return func(c *verifyConfig) error {
		c.progress = f
		return nil
	}
}

// ProgressEvery is how many events Verify reads between progress calls.
const ProgressEvery = 4096

// Verify checks a bundle read from r, streaming one batch at a time, and
// reports every problem it finds (see the package documentation for what
// a clean report proves). It returns an error only when it cannot finish:
// the header is unreadable or of another version (*DecodeError), reading
// fails, ctx ends, or the online source fails other than with
// ErrNotAnchored. Malformed later lines are findings, not errors.
func Verify(ctx context.Context, r io.Reader, opts ...VerifyOption) (*Report, error) {
	var cfg verifyConfig
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	dec, err := NewDecoder(r)
	if err != nil {
		return nil, err
	}
	h := dec.Header()
	v := &verifier{cfg: cfg, h: h, seenIDs: map[string]bool{}}
	v.rep = &Report{Channel: h.Channel, Chaincode: h.Chaincode, GatewayMSP: h.GatewayMSP, GatewayID: h.GatewayID}
	var orgFindings []Finding
	v.trust, v.rep.Orgs, orgFindings = newTrust(h.Orgs)
	v.rep.Findings = append(v.rep.Findings, orgFindings...)
	if cfg.online != nil {
		if err := v.checkOnlineOrgs(ctx); err != nil {
			return nil, err
		}
	}
	var cur *section
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		var de *DecodeError
		if errors.As(err, &de) {
			v.find(Finding{Kind: KindMalformed, Line: de.Line, Detail: de.Err.Error(), Err: de.Err})
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.Batch != nil {
			if cur != nil {
				if err := v.batch(ctx, cur); err != nil {
					return nil, err
				}
			}
			cur = &section{rec: *rec.Batch, line: rec.Line}
			continue
		}
		ev := rec.Event
		v.rep.Events++
		v.seenIDs[ev.ID] = true
		if cur == nil {
			v.find(Finding{Kind: KindInserted, EventID: ev.ID, Seq: ev.Seq, HasSeq: true, Line: rec.Line, Detail: "event listed before any batch"})
		} else {
			cur.leaves = append(cur.leaves, toLeaf(*ev, rec.Line))
		}
		if v.rep.Events%ProgressEvery == 0 {
			v.progress()
		}
	}
	if cur != nil {
		if err := v.batch(ctx, cur); err != nil {
			return nil, err
		}
	}
	if v.rep.Batches == 0 {
		v.find(Finding{Kind: KindMalformed, Detail: "bundle holds no batch"})
	}
	for _, id := range h.Query.EventIDs {
		if !v.seenIDs[id] {
			v.find(Finding{Kind: KindRemoved, EventID: id, Detail: "event requested in the bundle's query is not in it"})
		}
	}
	v.progress()
	return v.rep, nil
}

// section is one batch record with its events, as read.
type section struct {
	rec    BatchRecord
	line   int
	leaves []Leaf
}

// anchored is the verifier's trusted view of a verified batch.
type anchored struct {
	before, after uint64
	root          string
}

type verifier struct {
	cfg     verifyConfig
	h       Header
	trust   map[string]*orgTrust
	rep     *Report
	prev    *anchored
	seenIDs map[string]bool
}

func (v *verifier) find(f ...Finding) { v.rep.Findings = append(v.rep.Findings, f...) }

func (v *verifier) progress() {
	if v.cfg.progress != nil {
		v.cfg.progress(Progress{Events: v.rep.Events, TotalEvents: v.h.Events, Batches: v.rep.Batches, TotalBatches: v.h.Batches})
	}
}

func toLeaf(ev EventRecord, line int) Leaf {
	l := Leaf{Line: line, Seq: ev.Seq, ID: ev.ID, Hash: merkle.LeafHash(ev.Canonical), Index: ev.Proof.LeafIndex}
	if hs, err := merkle.DecodeHashes("proof", ev.Proof.Hashes); err == nil {
		l.Hashes = hs
		if l.Hashes == nil {
			l.Hashes = [][]byte{} // an empty path is a valid proof in a tree of one leaf
		}
	}
	return l
}

// batch verifies one batch section: its transaction, which root to trust,
// consistency with the previous batch, its events and its root.
func (v *verifier) batch(ctx context.Context, s *section) error {
	defer v.progress()
	v.rep.Batches++
	b := s.rec.Batch
	tag := func(fs []Finding) []Finding {
		for i := range fs {
			fs[i].BatchID = b.ID
		}
		return fs
	}
	tc := checkTransaction(s.rec.Transaction, v.h, v.trust, b.ID)
	v.rep.Transactions++
	v.rep.Endorsements += tc.endorsements
	v.find(tc.findings...)

	view, fs := v.trusted(s, tc.record)
	v.find(tag(fs)...)
	root, err := merkle.DecodeHash("root", view.root)
	if err != nil {
		v.find(Finding{Kind: KindRoot, BatchID: b.ID, Line: s.line, Detail: err.Error(), Err: err})
		return nil
	}
	v.find(tag(v.consistency(s, view))...)

	if view.after > view.before {
		leafFindings := AnalyzeLeaves(view.before, view.after-1, view.after, root, s.leaves)
		v.find(tag(leafFindings)...)
		if len(leafFindings) == 0 {
			// Every event verified on its own; recomputing the root from the
			// full leaf list in seq order is the independent cross-check.
			hashes := make([][]byte, len(s.leaves))
			for i, l := range s.leaves {
				hashes[i] = l.Hash
			}
			got, err := RootFromLeaves(view.before, s.rec.Prefix, hashes)
			if err != nil || hex.EncodeToString(got) != view.root {
				detail := "the batch's leaves with its prefix do not recompute the anchored root"
				if err != nil {
					detail += ": " + err.Error()
				}
				v.find(Finding{Kind: KindRoot, BatchID: b.ID, Line: s.line, Detail: detail, Err: err})
			}
		}
	}
	v.prev = &view
	if v.cfg.online != nil {
		return v.checkOnlineBatch(ctx, s, view)
	}
	return nil
}

// trusted decides which batch fields to trust: those of the record the
// anchoring transaction wrote when it is this batch's, else the bundle's
// own (already reported as unanchored).
func (v *verifier) trusted(s *section, rec *wire.Batch) (anchored, []Finding) {
	b := s.rec.Batch
	var fs []Finding
	bad := func(k Kind, format string, a ...any) {
		fs = append(fs, Finding{Kind: k, Line: s.line, TxID: s.rec.Transaction.TxID, Detail: fmt.Sprintf(format, a...)})
	}
	self := func() anchored {
		if want := gateway.BatchID(b.GatewayMSP, b.GatewayID, b.TreeSizeBefore, b.TreeSizeAfter, b.RootHash); b.ID != want {
			bad(KindBatch, "batch id is not the id of its fields (want %s)", want)
		}
		return anchored{before: b.TreeSizeBefore, after: b.TreeSizeAfter, root: b.RootHash}
	}
	var view anchored
	switch {
	case rec == nil:
		view = self()
	case rec.ID != b.ID:
		bad(KindTransaction, "transaction anchors batch %s (tree sizes %d..%d, root %s), not this batch: its events (seq %d..%d) are not proven anchored",
			rec.ID, rec.TreeSizeBefore, rec.TreeSizeAfter, rec.RootHash, b.FirstSeq, b.LastSeq)
		view = self()
	default:
		if want := wire.BatchID(rec.MSP, rec.GatewayID, rec.TreeSizeBefore, rec.TreeSizeAfter, rec.RootHash); rec.ID != want {
			bad(KindTransaction, "anchored record's id is not the id of its fields")
		}
		if rec.TxID != s.rec.Transaction.TxID {
			bad(KindTransaction, "anchored record names transaction %s", rec.TxID)
		}
		if rec.RootHash != b.RootHash {
			bad(KindRoot, "bundle root %s differs from the anchored root %s", b.RootHash, rec.RootHash)
		}
		var diff []string
		if rec.TreeSizeBefore != b.TreeSizeBefore || rec.TreeSizeAfter != b.TreeSizeAfter {
			diff = append(diff, fmt.Sprintf("tree sizes %d..%d (anchored %d..%d)", b.TreeSizeBefore, b.TreeSizeAfter, rec.TreeSizeBefore, rec.TreeSizeAfter))
		}
		if rec.FirstSeq != b.FirstSeq || rec.LastSeq != b.LastSeq {
			diff = append(diff, fmt.Sprintf("seqs %d..%d (anchored %d..%d)", b.FirstSeq, b.LastSeq, rec.FirstSeq, rec.LastSeq))
		}
		if rec.MSP != b.GatewayMSP || rec.GatewayID != b.GatewayID {
			diff = append(diff, fmt.Sprintf("gateway %s/%s (anchored %s/%s)", b.GatewayMSP, b.GatewayID, rec.MSP, rec.GatewayID))
		}
		if len(diff) > 0 {
			bad(KindBatch, "bundle batch differs from its anchored record: %s", strings.Join(diff, ", "))
		}
		view = anchored{before: rec.TreeSizeBefore, after: rec.TreeSizeAfter, root: rec.RootHash}
		b = gateway.Batch{GatewayMSP: rec.MSP, GatewayID: rec.GatewayID, FirstSeq: rec.FirstSeq, LastSeq: rec.LastSeq}
	}
	if b.GatewayMSP != v.h.GatewayMSP || b.GatewayID != v.h.GatewayID {
		bad(KindBatch, "batch of gateway %s/%s in a bundle for %s/%s", b.GatewayMSP, b.GatewayID, v.h.GatewayMSP, v.h.GatewayID)
	}
	// Seqs are leaf indexes (the store's guarantee), so a batch's seq range
	// is its tree range.
	if view.after <= view.before || b.FirstSeq != view.before || b.LastSeq != view.after-1 {
		bad(KindBatch, "seq range %d..%d is not the tree range [%d, %d)", b.FirstSeq, b.LastSeq, view.before, view.after)
	}
	return view, fs
}

// consistency checks the batch against the previous one of the bundle:
// in log order, its prefix rooted where the previous batch ended when they
// are adjacent, and a consistency proof between their anchored roots.
func (v *verifier) consistency(s *section, cur anchored) []Finding {
	var fs []Finding
	bad := func(err error) {
		fs = append(fs, Finding{Kind: KindConsistency, Line: s.line, Detail: err.Error(), Err: err})
	}
	if got := len(s.rec.Prefix); uint64(got) != uint64(popcount(cur.before)) {
		bad(fmt.Errorf("prefix has %d hashes, a tree of size %d needs %d", got, cur.before, popcount(cur.before)))
	}
	p := v.prev
	if p == nil {
		return fs
	}
	if cur.before < p.after {
		bad(fmt.Errorf("batch starts at tree size %d, before the previous batch ends (%d)", cur.before, p.after))
		return fs
	}
	if cur.before == p.after && len(fs) == 0 {
		got, err := RootFromLeaves(cur.before, s.rec.Prefix, nil)
		if err != nil || hex.EncodeToString(got) != p.root {
			bad(fmt.Errorf("prefix does not recompute the previous batch's anchored root %s", p.root))
		}
	}
	cp := s.rec.Consistency
	switch {
	case cp == nil:
		bad(errors.New("no consistency proof from the previous batch"))
	case cp.Size1 != p.after || cp.Size2 != cur.after:
		bad(fmt.Errorf("consistency proof is for sizes %d..%d, want %d..%d", cp.Size1, cp.Size2, p.after, cur.after))
	default:
		if err := merkle.VerifyConsistency(cp.Size1, cp.Size2, cp.Hashes, p.root, cur.root); err != nil {
			bad(err)
		}
	}
	return fs
}

func popcount(n uint64) int {
	c := 0
	for ; n != 0; n &= n - 1 {
		c++
	}
	return c
}

// checkOnlineOrgs compares the bundle's CA certificates with the channel's.
func (v *verifier) checkOnlineOrgs(ctx context.Context) error {
	live, err := v.cfg.online.ChannelMSPs(ctx)
	if err != nil {
		return fmt.Errorf("evidence: online: channel configuration: %w", err)
	}
	key := func(o OrgMSP) string {
		roots := slices.Clone(o.RootCerts)
		slices.Sort(roots)
		inter := slices.Clone(o.IntermediateCerts)
		slices.Sort(inter)
		return strings.Join(roots, "|") + "#" + strings.Join(inter, "|") + "#" + o.PeerOU
	}
	have := map[string]string{}
	for _, o := range v.h.Orgs {
		have[o.MSPID] = key(o)
	}
	for _, o := range live {
		k, ok := have[o.MSPID]
		switch {
		case !ok:
			v.find(Finding{Kind: KindLedger, Detail: fmt.Sprintf("channel organisation %s is missing from the bundle", o.MSPID)})
		case k != key(o):
			v.find(Finding{Kind: KindLedger, Detail: fmt.Sprintf("CA certificates of %s differ from the channel's", o.MSPID)})
		}
		delete(have, o.MSPID)
	}
	for id := range have {
		v.find(Finding{Kind: KindLedger, Detail: fmt.Sprintf("organisation %s is not in the channel's configuration", id)})
	}
	return nil
}

// checkOnlineBatch compares a batch with the ledger's record of it.
func (v *verifier) checkOnlineBatch(ctx context.Context, s *section, view anchored) error {
	b := s.rec.Batch
	live, err := v.cfg.online.AnchoredBatch(ctx, b.ID)
	if errors.Is(err, ErrNotAnchored) {
		v.find(Finding{Kind: KindLedger, BatchID: b.ID, Line: s.line, Detail: "the ledger holds no record of this batch", Err: err})
		return nil
	}
	if err != nil {
		return fmt.Errorf("evidence: online: batch %s: %w", b.ID, err)
	}
	if live.RootHash != view.root || live.TreeSizeBefore != view.before || live.TreeSizeAfter != view.after {
		v.find(Finding{Kind: KindLedger, BatchID: b.ID, Line: s.line, Detail: fmt.Sprintf("ledger records root %s for tree sizes %d..%d; bundle verified root %s for %d..%d",
			live.RootHash, live.TreeSizeBefore, live.TreeSizeAfter, view.root, view.before, view.after)})
	}
	if live.TxID != s.rec.Transaction.TxID {
		v.find(Finding{Kind: KindLedger, BatchID: b.ID, TxID: s.rec.Transaction.TxID, Line: s.line, Detail: fmt.Sprintf("ledger records anchoring transaction %s", live.TxID)})
	}
	return nil
}
