package intel

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// FuzzMatcherOps applies a byte-coded sequence of puts, re-shares (same
// id, other validity or confidence) and removals to a matcher that
// compacts its arena and its entries as early as it can, and checks after
// every step, against a plain map as the model, that every observable
// matches exactly the live, active entries it should (by id and
// confidence), that handed-out entries never change, and that Len agrees.
func FuzzMatcherOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 0x80, 1, 0x80, 2, 0x80, 3, 0, 1, 0x40, 2})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x00\x01"))
	now := time.Unix(1_800_000_000, 0)
	type ind struct {
		typ, v, sharer string
		obs            Observable
	}
	// The universe: two sharers of the same values (two entries per key),
	// keys of every kind the index stores differently.
	var uni []ind
	for _, sharer := range []string{"Org1MSP", "Org2MSP"} {
		for _, x := range []struct{ typ, v, obs, kind string }{
			{wire.IndicatorIPv4, "192.0.2.1", "192.0.2.1", ObservableIP},
			{wire.IndicatorIPv6, "2001:db8::1", "2001:db8::1", ObservableIP},
			{wire.IndicatorCIDR, "198.51.100.0/24", "198.51.100.7", ObservableIP},
			{wire.IndicatorCIDR, "2001:db8:1::/48", "2001:db8:1::9", ObservableIP},
			{wire.IndicatorDomain, "evil.example", "a.evil.example", wire.IndicatorDomain},
			{wire.IndicatorSHA256, fmt.Sprintf("%064x", 7), fmt.Sprintf("%064X", 7), wire.IndicatorSHA256},
			{wire.IndicatorURL, "http://evil.example/x", "http://evil.example/x", wire.IndicatorURL},
			{wire.IndicatorEmail, "a@evil.example", "A@evil.example", wire.IndicatorEmail},
		} {
			uni = append(uni, ind{x.typ, x.v, sharer, Observable{Kind: x.kind, Value: x.obs}})
		}
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := NewMatcher()
		m.idx.minGarbage, m.minDead = 0, 0
		live := map[string]Entry{} // id → the entry as put
		var held []struct {
			e    *Entry
			want Entry
		}
		for step, op := range ops {
			x := uni[int(op&0x3f)%len(uni)]
			e := entry(t, x.sharer, x.typ, x.v)
			switch op >> 6 {
			case 0, 1: // put; 1: a re-share with other bounds and confidence
				if op>>6 == 1 {
					e.Confidence = int(op)
					e.ValidUntil = now.Add(-time.Second).UnixNano() // expired
					if step%2 == 0 {
						e.ValidUntil, e.ValidFrom = 0, now.Add(time.Second).UnixNano() // not yet valid
					}
				}
				if !m.Put(e) {
					t.Fatalf("step %d: Put %s %s refused", step, x.typ, x.v)
				}
				live[e.ID] = *e
			default:
				if got, want := m.Remove(e.ID), live[e.ID].ID != ""; got != want {
					t.Fatalf("step %d: Remove = %v, want %v", step, got, want)
				}
				delete(live, e.ID)
			}
			if m.Len() != len(live) {
				t.Fatalf("step %d: Len %d, want %d", step, m.Len(), len(live))
			}
			m.Scan(now, func(v *View) {
				for _, o := range uni {
					var got, want []string
					v.Lookup(o.obs, func(e *Entry) {
						got = append(got, fmt.Sprint(e.ID, "/", e.Confidence))
						held = append(held, struct {
							e    *Entry
							want Entry
						}{e, *e})
					})
					for _, l := range live {
						if l.Active(now.UnixNano()) && l.Type == o.typ && l.Value == o.v {
							want = append(want, fmt.Sprint(l.ID, "/", l.Confidence))
						}
					}
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Fatalf("step %d: %s %q matched %v, want %v", step, o.obs.Kind, o.obs.Value, got, want)
					}
				}
			})
		}
		for _, h := range held {
			if !reflect.DeepEqual(*h.e, h.want) {
				t.Fatalf("a handed-out entry changed: %+v, was %+v", *h.e, h.want)
			}
		}
	})
}
