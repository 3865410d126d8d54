package alerting

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/durable/faultfs"
)

// TestWatermarkFaults: a watermark write that fails at any step ends the
// step with an error and leaves the alerter at its previous watermark; a
// restart (New on the same folder) reads a whole watermark, the previous
// one or, when only the folder's fsync failed, the new one. Either way the
// batch's alerts are raised again at worst, which the ledger deduplicates.
func TestWatermarkFaults(t *testing.T) {
	tests := []struct {
		name    string
		inject  func(*faultfs.FS)
		restart []uint64 // acceptable watermarks after the restart
	}{
		{"create", func(f *faultfs.FS) { f.FailNext(faultfs.OpCreate) }, []uint64{2}},
		{"write", func(f *faultfs.FS) { f.FailNext(faultfs.OpWrite) }, []uint64{2}},
		{"torn write", func(f *faultfs.FS) { f.ShortNextWrite(1) }, []uint64{2}},
		{"fsync", func(f *faultfs.FS) { f.FailNext(faultfs.OpSync) }, []uint64{2}},
		{"rename", func(f *faultfs.FS) { f.FailNext(faultfs.OpRename) }, []uint64{2}},
		{"fsync dir", func(f *faultfs.FS) { f.FailNext(faultfs.OpSyncDir) }, []uint64{2, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := newLog([]string{"bad0", "ok", "bad1", "ok"}, []int{2, 2}, 1)
			fsys := faultfs.New(nil)
			cfg := quietCfg(t)
			cfg.FS = fsys
			r := &fakeRaiser{}
			a, err := New(cfg, log, flagUsers{}, r)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := a.step(ctx); err != nil {
				t.Fatal(err)
			}
			log.batches[1].State = log.batches[0].State
			tt.inject(fsys)
			if _, err := a.step(ctx); !errors.Is(err, faultfs.ErrInjected) {
				t.Fatalf("step = %v, want the injected fault", err)
			}
			if got, want := a.Status().Watermark, uint64(2); got != want {
				t.Fatalf("watermark after a failed write = %d, want %d", got, want)
			}
			restart := cfg
			restart.FS = nil // the machine came back: plain OS files
			b, err := New(restart, log, flagUsers{}, r)
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			got := b.Status().Watermark
			ok := false
			for _, w := range tt.restart {
				ok = ok || got == w
			}
			if !ok {
				t.Fatalf("restarted at watermark %d, want one of %v", got, tt.restart)
			}
		})
	}
}

func TestCorruptWatermarkIsRefused(t *testing.T) {
	cfg := quietCfg(t)
	if err := os.WriteFile(filepath.Join(cfg.StateDir, "alerting.watermark"), []byte("4x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(cfg, newLog(nil, nil, 0), flagUsers{}, &fakeRaiser{})
	var ce *durable.CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("New = %v, want a *durable.CorruptError", err)
	}
}

// TestWatermarkWriteFailureIsRetried: a watermark write that keeps failing
// (a full disk) does not stop the alerter: it keeps its position in memory,
// reports the failure in Status, raises nothing twice, and writes the
// watermark once the file system takes it again.
func TestWatermarkWriteFailureIsRetried(t *testing.T) {
	log := newLog([]string{"bad0", "ok", "bad1", "ok"}, []int{2, 2}, 2)
	fsys := faultfs.New(nil)
	for n := 1; n <= 3; n++ {
		fsys.FailNth(faultfs.OpCreate, n)
	}
	cfg := quietCfg(t)
	cfg.FS = fsys
	r := &fakeRaiser{}
	a, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = a.step(ctx)
	var we *WatermarkError
	if !errors.As(err, &we) || !errors.Is(err, faultfs.ErrInjected) {
		t.Fatalf("step = %v, want *WatermarkError wrapping the fault", err)
	}
	// Without scoreAhead running, a step takes one batch (it never waits
	// to score a batch past its first): the second step raises batch 1.
	st := a.Status()
	if got, want := [2]uint64{st.Watermark, st.Position}, [2]uint64{0, 2}; got != want {
		t.Errorf("watermark, position after a failed write = %v, want %v", got, want)
	}
	if st.WatermarkError == "" {
		t.Error("Status does not report the failing watermark write")
	}
	if _, err := a.step(ctx); !errors.As(err, &we) {
		t.Fatalf("second step = %v, want *WatermarkError", err)
	}
	if st := a.Status(); st.Watermark != 0 || st.Position != 4 {
		t.Errorf("watermark, position after the second failed write = %d, %d, want 0, 4", st.Watermark, st.Position)
	}
	// Nothing new is anchored: the next step retries the write alone and
	// raises nothing again.
	if _, err := a.step(ctx); !errors.As(err, &we) {
		t.Fatalf("third step = %v, want *WatermarkError", err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == 4 })
	if st := a.Status(); st.WatermarkError != "" {
		t.Errorf("WatermarkError after a successful write = %q, want none", st.WatermarkError)
	}
	if got, want := r.ids(), 2; len(got) != want || got[0] == got[1] {
		t.Errorf("raised %v, want %d distinct alerts (no re-raise while the watermark write fails)", got, want)
	}
	b, err := New(Config{MSP: cfg.MSP, GatewayID: cfg.GatewayID, StateDir: cfg.StateDir, Logger: cfg.Logger}, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Status().Watermark, uint64(4); got != want {
		t.Errorf("watermark read back = %d, want %d", got, want)
	}
}
