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

// bytesFlagger is flagUsers as a LeafDetector reading the user name from
// the canonical bytes only, as the ONNX and intel detectors read theirs.
type bytesFlagger struct{ flagUsers }

func (f bytesFlagger) DetectLeaves(_ context.Context, leaves []gateway.Leaf) ([]detect.Result, error) {
	var out []detect.Result
	for i := range leaves {
		bad := strings.Contains(string(leaves[i].Canonical), `"user.name":"bad`)
		score := 0.1
		if bad {
			score = 0.99
		}
		out = append(out, detect.Result{Index: i, EventID: leaves[i].Event.ID, Model: authModel.ID, Version: authModel.Version, SHA256: authModel.SHA256, Score: score, Flagged: bad, Label: "bruteforce", Category: "T1110"})
	}
	return out, nil
}

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
// bytes, the alerter decodes the whole event of the flagged leaves only,
// and raises exactly the alerts it raises with whole events.
func TestDecodesOnlyFlaggedEvents(t *testing.T) {
	users := []string{"alice", "bad1", "bob", "carol", "bad2", "dave", "erin"}
	log := &countingLog{memLog: newLog(users, []int{4, 3}, 2)}
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, bytesFlagger{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == uint64(len(users)) })
	whole := &fakeRaiser{}
	b, err := New(quietCfg(t), newLog(users, []int{4, 3}, 2), flagUsers{}, whole)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, b, func() bool { return b.Status().Watermark == uint64(len(users)) })
	// Flattened: how the alerts are cut into transactions depends on
	// timing (a step raises the batches scored by then).
	if got, want := slices.Concat(r.calls...), slices.Concat(whole.calls...); len(got) != 2 || !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts from partial leaves %+v\nfrom whole events %+v", got, want)
	}
	if n := log.decodes.Load(); n != 2 {
		t.Errorf("decoded %d events whole, want the 2 flagged", n)
	}
}
