package features

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// partialLeaf returns the partial leaf of canonical bytes c (its header
// read by gateway.ReadHeader, its whole event decoded as the store hands
// it over), or a whole leaf when the header is not read so; and counts
// the whole decodes in *decodes.
func partialLeaf(t testing.TB, c []byte, decodes *int) gateway.Leaf {
	full, ok := storedEvent(t, c)
	if !ok {
		t.Fatalf("canonical bytes do not decode: %s", c)
	}
	h, ok := gateway.ReadHeader(c, nil)
	if !ok {
		return gateway.Leaf{Event: full, Canonical: c}
	}
	return gateway.HeaderLeaf(h, c, [32]byte{}, func(b []byte, seq uint64) (gateway.Event, error) {
		*decodes++
		ev, ok := storedEvent(t, b)
		if !ok || ev.Seq != seq {
			return ev, errors.New("does not decode")
		}
		return ev, nil
	})
}

// FuzzExtractLeaf: for any event the store could hold, ExtractLeaf on its
// partial leaf writes exactly the vector, and gives exactly the answer,
// of ExtractCanonical on its whole event, and decodes it whole only
// where the reader of the bytes refuses them (the spec has no windows).
func FuzzExtractLeaf(f *testing.F) {
	f.Add([]byte(`{"class":"flow","fields":{"f0":1,"f1":"2.5","f4":"TCP","f7":"a.b.example.com","f9":true}}`))
	f.Add([]byte(`{"fields":{"f0":{"x":"}"},"f6":["yes"],"f8":"\u00e9t\u00e9.fr","f5":null}}`))
	f.Add([]byte(`{"sourcetype":"x","host":"h","fields":{"f3":-0,"f2":1E+2,"f\"":1,"f1":0.1000000000000000055511151231257827}}`))
	f.Add([]byte(`{"fields":{"f1":null,"f1x":2,"f5":"a","f9":1,"f9z":{}},"raw":"AAEC","labels":{"f9":"x"}}`))
	f.Add([]byte(`{"source":"a\"b","fields":{"f9":1}}`))
	e, err := Compile(pathSpec())
	if err != nil {
		f.Fatal(err)
	}
	e.Require([]string{"f1", "f5", "f9z"})
	f.Fuzz(func(t *testing.T, text []byte) {
		ev, c, ok := canonicalPair(t, text)
		if !ok {
			return
		}
		decodes := 0
		leaf := partialLeaf(t, c, &decodes)
		want := make([]float32, e.Width())
		e.tailMiss.Store(len(c)%2 == 0)
		wantReq := e.ExtractCanonical(&ev, c, want)
		got := make([]float32, e.Width())
		e.tailMiss.Store(len(c)%3 == 0)
		PrefetchLeaf(&leaf) // as the extraction loops call it: never a panic, nothing changed
		gotReq, err := e.ExtractLeaf(&leaf, got)
		if err != nil {
			t.Fatal(err)
		}
		if gotReq != wantReq || (wantReq && !sameBits(got, want)) { // without a required field: undefined
			t.Errorf("canonical %s: got %v %v, want %v %v", c, gotReq, got, wantReq, want)
		}
		// Only where the reader of the bytes refuses them (without the
		// tail reader, which needs more than the header) is the event
		// decoded, once.
		_, byBytes := e.extractBytes(&ev, c, got, true)
		if wantDecodes := map[bool]int{true: 0, false: 1}[byBytes || !leaf.Partial()]; decodes != wantDecodes {
			t.Errorf("canonical %s: decoded the whole event %d times, want %d", c, decodes, wantDecodes)
		}
	})
}

// TestExtractLeafWindows: a spec with windows reads the decoded event,
// so ExtractLeaf decodes each partial leaf whole, and the windows see
// the same events: the vectors equal ExtractCanonical's on whole events,
// event after event. A leaf that does not decode is Full's error.
func TestExtractLeafWindows(t *testing.T) {
	spec := baselineSpec(BaselineSpec{Bucket: Duration(time.Minute), HalfLife: Duration(time.Minute), Warmup: 2})
	byEvent, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	byLeaf, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	decodes := 0
	for i := range 40 {
		ev := authAt(i*17, fmt.Sprintf("10.0.0.%d", i%3), []string{"failure", "success"}[i%4/3])
		ev.Seq = uint64(i)
		c, err := ev.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := storedEvent(t, c)
		want := make([]float32, byEvent.Width())
		wantReq := byEvent.ExtractCanonical(&stored, c, want)
		leaf := partialLeaf(t, c, &decodes)
		if !leaf.Partial() {
			t.Fatalf("event %d: header not read from %s", i, c)
		}
		got := make([]float32, byLeaf.Width())
		gotReq, err := byLeaf.ExtractLeaf(&leaf, got)
		if err != nil {
			t.Fatal(err)
		}
		if gotReq != wantReq || !sameBits(got, want) {
			t.Errorf("event %d: got %v %v, want %v %v", i, gotReq, got, wantReq, want)
		}
	}
	if decodes != 40 {
		t.Errorf("decoded %d leaves whole, want 40", decodes)
	}
	bad := gateway.HeaderLeaf(gateway.Event{Seq: 3}, []byte(`{}`), [32]byte{}, func([]byte, uint64) (gateway.Event, error) {
		return gateway.Event{}, errors.New("damaged")
	})
	if _, err := byLeaf.ExtractLeaf(&bad, make([]float32, byLeaf.Width())); err == nil {
		t.Error("ExtractLeaf on a leaf that does not decode: no error")
	}
}
