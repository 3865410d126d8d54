package alerting

import (
	"context"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
)

// recordingLog is a memLog that stamps each leaf hash with its seq (so an
// alert citing a recomputed hash would differ) and records the ranges read.
type recordingLog struct {
	*memLog
	mu     sync.Mutex
	ranges [][2]uint64
}

func (r *recordingLog) HeaderLeaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error) {
	r.mu.Lock()
	r.ranges = append(r.ranges, [2]uint64{from, to})
	r.mu.Unlock()
	out, err := r.memLog.HeaderLeaves(ctx, from, to)
	for i := range out {
		copy(out[i].LeafHash[:], fmt.Sprintf("%032d", from+uint64(i)))
	}
	return out, err
}

// TestAlertCitesStoredLeafHash: the alert's event hash is the leaf hash
// the log returned, not one the alerter computed.
func TestAlertCitesStoredLeafHash(t *testing.T) {
	log := &recordingLog{memLog: newLog([]string{"alice", "bad1"}, []int{2}, 1)}
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == 2 })
	ids := r.ids()
	if len(ids) != 1 {
		t.Fatalf("raised %d alerts, want 1", len(ids))
	}
	if got, want := r.calls[0][0].EventHash, hex.EncodeToString([]byte(fmt.Sprintf("%032d", 1))); got != want {
		t.Errorf("event hash = %s, want the stored leaf hash %s", got, want)
	}
}

// TestReadsLongBatchesInPages: a batch longer than LeavesPerRead is read
// in consecutive ranges of at most LeavesPerRead leaves, and every event
// of it is scored.
func TestReadsLongBatchesInPages(t *testing.T) {
	n := LeavesPerRead + 5
	users := make([]string, n)
	for i := range users {
		users[i] = "ok"
	}
	users[n-1] = "bad-last"
	log := &recordingLog{memLog: newLog(users, []int{n}, 1)}
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == uint64(n) })
	log.mu.Lock()
	got := fmt.Sprint(log.ranges)
	log.mu.Unlock()
	if want := fmt.Sprint([][2]uint64{{0, LeavesPerRead}, {LeavesPerRead, uint64(n)}}); got != want {
		t.Errorf("read ranges %s, want %s", got, want)
	}
	if ids := r.ids(); len(ids) != 1 {
		t.Errorf("raised %d alerts, want 1 (the batch's last event)", len(ids))
	}
}

// flagTwice flags events whose user name starts with "bad" twice: as the
// auth model and as an intel match (which cites no batch model), so a
// flagged event has two alerts. As a LeafDetector it reads the user name
// from the canonical bytes only, as the ONNX and intel detectors read
// theirs; as a Detector, from the decoded fields.
type flagTwice struct{}

func (flagTwice) results(i int, id string, bad bool) []detect.Result {
	score := 0.1
	if bad {
		score = 0.99
	}
	out := []detect.Result{{Index: i, EventID: id, Model: authModel.ID, Version: authModel.Version, SHA256: authModel.SHA256, Score: score, Flagged: bad, Label: "bruteforce", Category: "T1110"}}
	if bad {
		out = append(out, detect.Result{Index: i, EventID: id, Model: wire.DetectorIntelMatch, Version: "ind-1", SHA256: strings.Repeat("b", 64), Score: 0.8, Flagged: true, Label: "intel-ipv4", Category: "T1071"})
	}
	return out
}

func (f flagTwice) Detect(_ context.Context, evs []gateway.Event) ([]detect.Result, error) {
	var out []detect.Result
	for i, ev := range evs {
		u, _ := ev.Fields["user.name"].(string)
		out = append(out, f.results(i, ev.ID, strings.HasPrefix(u, "bad"))...)
	}
	return out, nil
}

func (f flagTwice) DetectLeaves(_ context.Context, leaves []gateway.Leaf) ([]detect.Result, error) {
	var out []detect.Result
	for i := range leaves {
		out = append(out, f.results(i, leaves[i].Event.ID, strings.Contains(string(leaves[i].Canonical), `"user.name":"bad`))...)
	}
	return out, nil
}

// eventsOnly hides DetectLeaves: the alerter's detector then gets whole
// events (detect.Events), as before partial leaves.
type eventsOnly struct{ detect.Detector }

// countingLog is a memLog whose partial leaves count their whole decodes.
type countingLog struct {
	*memLog
	decodes atomic.Int64
}

func (c *countingLog) HeaderLeaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error) {
	out, err := c.memLog.HeaderLeaves(ctx, from, to)
	for i := range out {
		out[i] = gateway.HeaderLeaf(out[i].Event, out[i].Canonical, out[i].LeafHash, func(b []byte, seq uint64) (gateway.Event, error) {
			c.decodes.Add(1)
			return decodeJSON(b, seq)
		})
	}
	return out, err
}

// TestDecodesOnlyFlaggedEvents: with a detector that reads the canonical
// bytes, the alerter reads the few fields an alert needs from the bytes
// of the flagged leaves, decodes the whole event only of one whose
// fields it cannot read so (an escaped user name), once however many
// verdicts flag it, and raises exactly the alerts it raises when the
// detector gets whole events.
func TestDecodesOnlyFlaggedEvents(t *testing.T) {
	users := []string{"alice", "bad1", "bob", "carol", "bad<2>", "dave", "erin"}
	log := &countingLog{memLog: newLog(users, []int{4, 3}, 2)}
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, flagTwice{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == uint64(len(users)) })
	whole := &countingLog{memLog: newLog(users, []int{4, 3}, 2)}
	wr := &fakeRaiser{}
	b, err := New(quietCfg(t), whole, eventsOnly{flagTwice{}}, wr)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, b, func() bool { return b.Status().Watermark == uint64(len(users)) })
	// Flattened: how the alerts are cut into transactions depends on
	// timing (a step raises the batches scored by then).
	if got, want := slices.Concat(r.calls...), slices.Concat(wr.calls...); len(got) != 4 || !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts from partial leaves %+v\nfrom whole events %+v", got, want)
	}
	if n := log.decodes.Load(); n != 1 {
		t.Errorf("decoded %d events whole, want the flagged one with an escaped user name, once", n)
	}
	if n := whole.decodes.Load(); n < int64(len(users)) {
		t.Errorf("the detector of whole events had %d decoded, want every one of %d", n, len(users))
	}
}
