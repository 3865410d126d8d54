package detect

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

type fixed struct {
	out []Result
	err error
}

func (f fixed) Detect(context.Context, []gateway.Event) ([]Result, error) { return f.out, f.err }

func TestJoin(t *testing.T) {
	a := fixed{out: []Result{{Index: 0, Model: "a"}, {Index: 2, Model: "a"}}}
	b := fixed{out: []Result{{Index: 1, Model: "b"}, {Index: 2, Model: "b"}}}
	tests := []struct {
		name    string
		ds      []Detector
		want    []string
		wantErr bool
	}{
		{"one is returned as is", []Detector{nil, a}, []string{"a0", "a2"}, false},
		{"results ordered by event, detector order kept", []Detector{a, b}, []string{"a0", "b1", "a2", "b2"}, false},
		{"an error fails the call", []Detector{a, fixed{err: errors.New("boom")}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Join(tt.ds...).Detect(context.Background(), nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.Model+string(rune('0'+r.Index)))
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("got %v, want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", ids, tt.want)
				}
			}
		})
	}
}

// leafy answers through DetectLeaves and fails through Detect, so a test
// sees which one was asked.
type leafy struct{ model string }

func (l leafy) Detect(context.Context, []gateway.Event) ([]Result, error) {
	return nil, errors.New("Detect called on a LeafDetector")
}

func (l leafy) DetectLeaves(_ context.Context, leaves []gateway.Leaf) ([]Result, error) {
	var out []Result
	for i, lf := range leaves {
		out = append(out, Result{Index: i, Model: l.model, EventID: lf.Event.ID + "/" + string(lf.Canonical)})
	}
	return out, nil
}

// echo answers one result per event, citing the event's id.
type echo struct{}

func (echo) Detect(_ context.Context, events []gateway.Event) ([]Result, error) {
	var out []Result
	for i, ev := range events {
		out = append(out, Result{Index: i, Model: "echo", EventID: ev.ID})
	}
	return out, nil
}

func TestDetectLeaves(t *testing.T) {
	leaves := []gateway.Leaf{{Event: gateway.Event{ID: "e0"}, Canonical: []byte("c0")}, {Event: gateway.Event{ID: "e1"}, Canonical: []byte("c1")}}
	tests := []struct {
		name string
		d    Detector
		want []string
	}{
		{"a LeafDetector gets the leaves", leafy{"l"}, []string{"l:e0/c0", "l:e1/c1"}},
		{"a plain detector gets their events", echo{}, []string{"echo:e0", "echo:e1"}},
		{"joined: each the way it can", Join(leafy{"l"}, echo{}), []string{"l:e0/c0", "echo:e0", "l:e1/c1", "echo:e1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := DetectLeaves(context.Background(), tt.d, leaves)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res {
				got = append(got, r.Model+":"+r.EventID)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// fieldEcho answers one result per event, citing its field "f": it reads
// past the header, so it must get whole events.
type fieldEcho struct{}

func (fieldEcho) Detect(_ context.Context, events []gateway.Event) ([]Result, error) {
	var out []Result
	for i, ev := range events {
		f, _ := ev.Fields["f"].(string)
		out = append(out, Result{Index: i, Model: "fields", EventID: ev.ID + "/" + f})
	}
	return out, nil
}

// TestDetectPartialLeaves: a detector that is not a LeafDetector gets the
// partial leaves' whole events (decoded once, however many such
// detectors are joined); a leaf that does not decode fails the call.
func TestDetectPartialLeaves(t *testing.T) {
	decodes := 0
	decode := func(c []byte, seq uint64) (gateway.Event, error) {
		decodes++
		if string(c) == "bad" {
			return gateway.Event{}, errors.New("damaged")
		}
		return gateway.Event{ID: "e" + string(rune('0'+seq)), Seq: seq, Fields: map[string]any{"f": string(c)}}, nil
	}
	leaves := []gateway.Leaf{
		gateway.HeaderLeaf(gateway.Event{ID: "e0"}, []byte("c0"), [32]byte{}, decode),
		gateway.HeaderLeaf(gateway.Event{ID: "e1", Seq: 1}, []byte("c1"), [32]byte{}, decode),
	}
	res, err := DetectLeaves(context.Background(), Join(leafy{"l"}, fieldEcho{}, fieldEcho{}), leaves)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Model+":"+r.EventID)
	}
	want := []string{"l:e0/c0", "fields:e0/c0", "fields:e0/c0", "l:e1/c1", "fields:e1/c1", "fields:e1/c1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if decodes != 2 {
		t.Errorf("decoded %d leaves, want 2", decodes)
	}
	leaves[1] = gateway.HeaderLeaf(gateway.Event{ID: "e1", Seq: 1}, []byte("bad"), [32]byte{}, decode)
	if _, err := DetectLeaves(context.Background(), fieldEcho{}, leaves); err == nil {
		t.Error("a leaf that does not decode: no error")
	}
}
