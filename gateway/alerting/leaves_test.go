package alerting

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// recordingLog is a memLog that stamps each leaf hash with its seq (so an
// alert citing a recomputed hash would differ) and records the ranges read.
type recordingLog struct {
	*memLog
	mu     sync.Mutex
	ranges [][2]uint64
}

func (r *recordingLog) Leaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error) {
	r.mu.Lock()
	r.ranges = append(r.ranges, [2]uint64{from, to})
	r.mu.Unlock()
	out, err := r.memLog.Leaves(ctx, from, to)
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
