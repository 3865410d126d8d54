package onnx

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// partialLeaves returns leaves as the store's HeaderLeaves hands them
// out: each event's header read from its canonical bytes, its whole
// event decoded on demand (counted in the returned counter).
func partialLeaves(t testing.TB, leaves []gateway.Leaf) ([]gateway.Leaf, *atomic.Int64) {
	t.Helper()
	var decodes atomic.Int64
	decode := func(c []byte, seq uint64) (gateway.Event, error) {
		decodes.Add(1)
		ev, ok := decodeStored(c)
		if !ok || ev.Seq != seq {
			return ev, errors.New("does not decode")
		}
		return ev, nil
	}
	out := make([]gateway.Leaf, len(leaves))
	for i, l := range leaves {
		h, ok := gateway.ReadHeader(l.Canonical, nil)
		if !ok {
			t.Fatalf("leaf %d: header not read from %s", i, l.Canonical)
		}
		out[i] = gateway.HeaderLeaf(h, l.Canonical, l.LeafHash, decode)
	}
	return out, &decodes
}

// TestDetectPartialLeavesMatchesDetect: scoring partial leaves (header
// only, fields decoded on demand) changes nothing a model answers: every
// committed model gives, bit for bit, what Detect gives on the decoded
// events; a model without windows decodes no event to do it, one with
// windows each event of its classes once.
func TestDetectPartialLeavesMatchesDetect(t *testing.T) {
	requireORT(t)
	for _, name := range detectModels {
		t.Run(name, func(t *testing.T) {
			m := openCommitted(t, name)
			leaves := leavesFor(t, m, name)
			events := make([]gateway.Event, len(leaves))
			ofKind := 0
			for i := range leaves {
				events[i] = leaves[i].Event
				if m.Manifest().appliesKind(&events[i]) {
					ofKind++
				}
			}
			want, err := m.Detect(context.Background(), events)
			if err != nil {
				t.Fatal(err)
			}
			m.Engine().Reset()
			partial, decodes := partialLeaves(t, leaves)
			got, err := m.DetectLeaves(context.Background(), partial)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || !reflect.DeepEqual(got, want) {
				t.Fatalf("DetectLeaves on partial leaves gave %d results, Detect %d; first differences: %v", len(got), len(want), firstDiff(got, want))
			}
			wantDecodes := 0
			if m.Engine().Stateful() {
				wantDecodes = ofKind
			}
			if n := decodes.Load(); n != int64(wantDecodes) {
				t.Errorf("decoded %d events whole, want %d", n, wantDecodes)
			}
		})
	}
}

// TestRegistryPartialLeaves: the registry answers on partial leaves what
// it answers on whole ones, and decodes each event a model with windows
// reads once, however many such models read it (both auth models do).
// A leaf that does not decode fails the call.
func TestRegistryPartialLeaves(t *testing.T) {
	requireORT(t)
	ctx := context.Background()
	r := openRegistry(t)
	auth := goldenEvents("auth-bruteforce")
	leaves := append(sharedLeaves(t, r, 600), storedLeaves(t, auth)...)
	reset := func() {
		for _, m := range r.Models() {
			m.Engine().Reset()
		}
	}
	reset()
	want, err := r.DetectLeaves(ctx, leaves)
	if err != nil {
		t.Fatal(err)
	}
	reset()
	partial, decodes := partialLeaves(t, leaves)
	kept := slices.Clone(partial)
	got, err := r.DetectLeaves(ctx, partial)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("registry on partial leaves gave %d results, on whole leaves %d; first difference: %v", len(got), len(want), firstDiff(got, want))
	}
	if n := decodes.Load(); n != int64(len(auth)) {
		t.Errorf("decoded %d events whole, want the %d auth events once each", n, len(auth))
	}
	for i := range partial {
		if !partial[i].Partial() || !reflect.DeepEqual(partial[i].Event, kept[i].Event) {
			t.Fatalf("leaf %d was modified", i)
		}
	}
	bad := slices.Clone(partial)
	last := &bad[len(bad)-1] // an auth event: a model with windows reads it decoded
	*last = gateway.HeaderLeaf(last.Event, []byte(`{"seq":-1}`), last.LeafHash, func([]byte, uint64) (gateway.Event, error) {
		return gateway.Event{}, errors.New("damaged")
	})
	if _, err := r.DetectLeaves(ctx, bad); err == nil {
		t.Error("a leaf that does not decode: no error")
	}
}
