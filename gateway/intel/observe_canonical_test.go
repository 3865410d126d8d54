package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// stored returns the canonical bytes of an event with fields and the
// event decoded back from them, as the store hands it over.
func stored(t testing.TB, fields map[string]any) ([]byte, gateway.Event, bool) {
	ev := gateway.Event{ID: strings.Repeat("ab", 32), Seq: 7, Source: "s", Sourcetype: "zeek:dns", Host: "h", Class: gateway.ClassDNS, Fields: fields, Raw: []byte("x")}
	c, err := ev.Canonical()
	if err != nil {
		return nil, ev, false
	}
	var out gateway.Event
	d := json.NewDecoder(bytes.NewReader(c))
	d.UseNumber()
	if d.Decode(&out) != nil {
		t.Fatalf("canonical bytes do not decode: %s", c)
	}
	return c, out, true
}

// TestObservablesCanonical: the reader of canonical bytes finds what
// Observables finds on the decoded event, and leaves escapes and nested
// objects to it.
func TestObservablesCanonical(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		ok     bool
	}{
		{"none", nil, true},
		{"flat ECS fields", map[string]any{"source.ip": "192.0.2.1", "destination.ip": "", "dns.question.name": "a.evil.example", "other": "x", "zz": 1}, true},
		{"lists", map[string]any{"dns.answers.data": []any{"198.51.100.1", "cname.example", json.Number("3"), []any{"x"}}, "email.to.address": []any{"a@x.example", json.Number("7"), ""}}, true},
		{"long list", map[string]any{"dns.answers.data": slices.Repeat([]any{"192.0.2.7", ""}, 40)}, true},
		{"long list, escape past the bound", map[string]any{"dns.answers.data": append(slices.Repeat([]any{"192.0.2.7"}, 64), "a<b")}, true},
		{"non-string values ignored", map[string]any{"source.ip": json.Number("7"), "destination.ip": map[string]any{"x": "1"}, "url.full": nil, "url.domain": true}, true},
		{"non-ASCII value", map[string]any{"url.domain": "bücher.example"}, true},
		{"nested root with a scalar", map[string]any{"source": "x", "url": []any{"y"}}, true},
		{"escaped value", map[string]any{"url.full": "http://x.example/?a=1&b=2"}, false},
		{"escaped value in a list", map[string]any{"dns.answers.data": []any{"x", "<y>"}}, false},
		{"nested object", map[string]any{"url": map[string]any{"full": "http://x.example/"}}, false},
		{"escaped name", map[string]any{"a<b": "x", "source.ip": "192.0.2.1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ev, _ := stored(t, tt.fields)
			want := Observables(&ev, nil)
			got, ok := observablesCanonical(c, nil)
			if ok != tt.ok {
				t.Fatalf("observablesCanonical(%s) ok = %v, want %v", c, ok, tt.ok)
			}
			if ok && !slices.Equal(got, want) {
				t.Errorf("observablesCanonical(%s) = %v\nObservables %v", c, got, want)
			}
			if !ok && len(got) != 0 {
				t.Errorf("refused, yet appended %v", got)
			}
		})
	}
}

// FuzzObservablesCanonical: for the canonical bytes of any event, the
// reader either leaves the event to Observables or appends exactly what
// Observables appends for the decoded event; it reads every event whose
// bytes hold no escape; and it never panics on any bytes.
func FuzzObservablesCanonical(f *testing.F) {
	f.Add([]byte(`{"source.ip":"192.0.2.1","dns.answers.data":["a",1,{"x":"]"},""],"url":{"full":"u"}}`), []byte(`,"class":"x","fields":{"a":`))
	f.Add([]byte(`{"url.full":"a\u0026b","email.to.address":["\u00e9"],"source":"x"}`), []byte(`,"class":"x","raw":null}`))
	f.Add([]byte(`{"user.email":"\u0000","url.domain":"\ud800"}`), []byte(`,"class":"","fields":{"x":[1,"]`))
	f.Fuzz(func(t *testing.T, fieldsText, junk []byte) {
		observablesCanonical(junk, nil) // must not panic
		var fields map[string]any
		d := json.NewDecoder(bytes.NewReader(fieldsText))
		d.UseNumber()
		if d.Decode(&fields) != nil {
			return
		}
		c, ev, ok := stored(t, fields)
		if !ok {
			return
		}
		want := Observables(&ev, nil)
		got, ok := observablesCanonical(c, []Observable{{Value: "keep"}})
		if !ok {
			if len(got) != 1 {
				t.Fatalf("refused, yet appended %v", got[1:])
			}
			if !bytes.Contains(c, []byte(`\`)) && !bytes.Contains(c, []byte(`":{`)) {
				t.Fatalf("refused %s, which has no escape or nested object", c)
			}
			return
		}
		if !slices.Equal(got[1:], want) {
			t.Fatalf("observablesCanonical(%s) = %v\nObservables %v", c, got[1:], want)
		}
	})
}

// TestDetectPartialLeaves: the detector answers on partial leaves
// (header only) what it answers on the decoded events, decoding only the
// leaves whose observables it does not read from the bytes; a leaf that
// does not decode fails the call.
func TestDetectPartialLeaves(t *testing.T) {
	m := NewMatcher()
	amber := entry(t, "Org1MSP", wire.IndicatorIPv4, "198.51.100.9")
	amber.TLP = wire.TLPAmber
	m.Put(amber)
	m.Put(entry(t, "Org1MSP", wire.IndicatorDomain, "evil.example"))
	m.Put(entry(t, "Org1MSP", wire.IndicatorURL, "http://evil.example/?a=1&b=2"))
	fields := []map[string]any{
		{"dns.question.name": "x.evil.example", "url.domain": "evil.example"},
		{"source.ip": "10.0.0.1"},
		{"destination.ip": "198.51.100.9", "source.ip": "198.51.100.9"},
		{"url.full": "http://evil.example/?a=1&b=2"},             // escaped: decoded
		{"url": map[string]any{"domain": "evil.example"}},        // nested: decoded
		{"dns.answers.data": []any{"192.0.2.1", "198.51.100.9"}}, // a list
		nil,
	}
	var events []gateway.Event
	var leaves []gateway.Leaf
	decodes := 0
	decode := func(c []byte, seq uint64) (gateway.Event, error) {
		decodes++
		var ev gateway.Event
		d := json.NewDecoder(bytes.NewReader(c))
		d.UseNumber()
		return ev, d.Decode(&ev)
	}
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	for i, f := range fields {
		ev := gateway.Event{ID: strings.Repeat(string(rune('a'+i)), 64), Seq: uint64(i), Time: t0.Add(time.Duration(i) * time.Second), Source: "s", Sourcetype: "t", Class: gateway.ClassDNS, Fields: f}
		c, err := ev.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		full, _ := decode(c, ev.Seq)
		h, ok := gateway.ReadHeader(c, nil)
		if !ok {
			t.Fatalf("header of %s", c)
		}
		events = append(events, full)
		leaves = append(leaves, gateway.HeaderLeaf(h, c, [32]byte{}, decode))
	}
	decodes = 0
	d := &Detector{Matcher: m}
	want, err := d.Detect(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.DetectLeaves(context.Background(), leaves)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 5 || !reflect.DeepEqual(got, want) {
		t.Fatalf("DetectLeaves = %+v\nDetect %+v (want 5 results: event 0 matches one indicator through two fields)", got, want)
	}
	if decodes != 2 {
		t.Errorf("decoded %d leaves whole, want 2 (the escaped and the nested one)", decodes)
	}
	bad := slices.Clone(leaves)
	bad[3] = gateway.HeaderLeaf(leaves[3].Event, leaves[3].Canonical, [32]byte{}, func([]byte, uint64) (gateway.Event, error) {
		return gateway.Event{}, errors.New("damaged")
	})
	if _, err := d.DetectLeaves(context.Background(), bad); err == nil {
		t.Error("a leaf that does not decode: no error")
	}
}
