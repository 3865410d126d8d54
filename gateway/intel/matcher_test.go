package intel

import (
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// entry builds a matcher entry for a raw value, canonicalised as a share
// would be.
func entry(t testing.TB, sharer, typ, value string) *Entry {
	t.Helper()
	canon, err := wire.CanonicalIndicator(typ, value)
	if err != nil {
		t.Fatalf("canonical %s %q: %v", typ, value, err)
	}
	hash := wire.IndicatorHash([]byte("0123456789abcdef"), typ, canon)
	return &Entry{ID: wire.IndicatorID(sharer, hash), Hash: hash, Type: typ, Value: canon, TLP: wire.TLPGreen, SharedBy: sharer, Confidence: 80}
}

func lookupIDs(m *Matcher, now time.Time, o Observable) []string {
	var got []string
	m.Scan(now, func(v *View) {
		v.Lookup(o, func(e *Entry) { got = append(got, e.Type+":"+e.Value) })
	})
	return got
}

func TestMatcherLookup(t *testing.T) {
	m := NewMatcher()
	for _, x := range []struct{ typ, value string }{
		{wire.IndicatorIPv4, "198.51.100.7"},
		{wire.IndicatorIPv6, "2001:db8::1"},
		{wire.IndicatorCIDR, "203.0.113.0/24"},
		{wire.IndicatorCIDR, "203.0.0.0/16"},
		{wire.IndicatorCIDR, "2001:db8:ff::/48"},
		{wire.IndicatorDomain, "evil.example"},
		{wire.IndicatorDomain, "c2.bad.example"},
		{wire.IndicatorURL, "HTTP://Evil.Example:80/a%7eb?q=1#frag"},
		{wire.IndicatorSHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},
		{wire.IndicatorMD5, "d41d8cd98f00b204e9800998ecf8427e"},
		{wire.IndicatorSHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{wire.IndicatorEmail, "Phish@Evil.Example"},
		{wire.IndicatorJA3, "e7d705a3286e19ea42f587b344ee6865"},
		{wire.IndicatorUserAgent, "Evil  Bot/1.0"},
	} {
		if !m.Put(entry(t, "Org1MSP", x.typ, x.value)) {
			t.Fatalf("Put %s %s refused", x.typ, x.value)
		}
	}
	now := time.Now()
	tests := []struct {
		name string
		obs  Observable
		want []string
	}{
		{"ipv4 exact", Observable{Kind: ObservableIP, Value: "198.51.100.7"}, []string{"ipv4:198.51.100.7"}},
		{"ipv4 miss", Observable{Kind: ObservableIP, Value: "198.51.100.8"}, nil},
		{"ipv4 mapped in ipv6", Observable{Kind: ObservableIP, Value: "::ffff:198.51.100.7"}, []string{"ipv4:198.51.100.7"}},
		{"ipv4 in two prefixes, longest first", Observable{Kind: ObservableIP, Value: "203.0.113.9"}, []string{"cidr:203.0.113.0/24", "cidr:203.0.0.0/16"}},
		{"ipv4 in the shorter prefix only", Observable{Kind: ObservableIP, Value: "203.0.5.1"}, []string{"cidr:203.0.0.0/16"}},
		{"ipv6 exact, other spelling", Observable{Kind: ObservableIP, Value: "2001:0DB8:0:0::1"}, []string{"ipv6:2001:db8::1"}},
		{"ipv6 in prefix", Observable{Kind: ObservableIP, Value: "2001:db8:ff:1::9"}, []string{"cidr:2001:db8:ff::/48"}},
		{"not an address", Observable{Kind: ObservableIP, Value: "evil.example"}, nil},
		{"domain exact", Observable{Kind: wire.IndicatorDomain, Value: "evil.example"}, []string{"domain:evil.example"}},
		{"domain parent, upper case, trailing dot", Observable{Kind: wire.IndicatorDomain, Value: "A.B.Evil.Example."}, []string{"domain:evil.example"}},
		{"domain child does not match parent's sibling", Observable{Kind: wire.IndicatorDomain, Value: "bad.example"}, nil},
		{"domain deeper indicator", Observable{Kind: wire.IndicatorDomain, Value: "x.c2.bad.example"}, []string{"domain:c2.bad.example"}},
		{"domain suffix is not a label boundary", Observable{Kind: wire.IndicatorDomain, Value: "notevil.example"}, nil},
		{"url canonical", Observable{Kind: wire.IndicatorURL, Value: "http://evil.example/a~b?q=1"}, []string{"url:http://evil.example/a~b?q=1"}},
		{"url other spelling", Observable{Kind: wire.IndicatorURL, Value: "http://EVIL.example:80/a%7Eb?q=1"}, []string{"url:http://evil.example/a~b?q=1"}},
		{"url other query", Observable{Kind: wire.IndicatorURL, Value: "http://evil.example/a~b?q=2"}, nil},
		{"sha256 upper case", Observable{Kind: wire.IndicatorSHA256, Value: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}, []string{"file-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
		{"md5", Observable{Kind: wire.IndicatorMD5, Value: "d41d8cd98f00b204e9800998ecf8427e"}, []string{"file-md5:d41d8cd98f00b204e9800998ecf8427e"}},
		{"md5 is not a ja3", Observable{Kind: wire.IndicatorJA3, Value: "d41d8cd98f00b204e9800998ecf8427e"}, nil},
		{"sha1", Observable{Kind: wire.IndicatorSHA1, Value: "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"}, []string{"file-sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
		{"email case", Observable{Kind: wire.IndicatorEmail, Value: "PHISH@evil.example"}, []string{"email:phish@evil.example"}},
		{"ja3", Observable{Kind: wire.IndicatorJA3, Value: "e7d705a3286e19ea42f587b344ee6865"}, []string{"ja3:e7d705a3286e19ea42f587b344ee6865"}},
		{"user agent white space", Observable{Kind: wire.IndicatorUserAgent, Value: " Evil Bot/1.0 "}, []string{"user-agent:Evil Bot/1.0"}},
		{"user agent case kept", Observable{Kind: wire.IndicatorUserAgent, Value: "evil bot/1.0"}, nil},
		{"unknown kind", Observable{Kind: "nope", Value: "x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lookupIDs(m, now, tt.obs)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Lookup(%+v) = %v, want %v", tt.obs, got, tt.want)
			}
		})
	}
}

func TestMatcherValidityRemoveAndSharers(t *testing.T) {
	m := NewMatcher()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	a := entry(t, "Org1MSP", wire.IndicatorIPv4, "192.0.2.1")
	b := entry(t, "Org2MSP", wire.IndicatorIPv4, "192.0.2.1")
	expired := entry(t, "Org1MSP", wire.IndicatorDomain, "old.example")
	expired.ValidUntil = now.Add(-time.Second).UnixNano()
	future := entry(t, "Org1MSP", wire.IndicatorDomain, "soon.example")
	future.ValidFrom = now.Add(time.Hour).UnixNano()
	for _, e := range []*Entry{a, b, expired, future} {
		m.Put(e)
	}
	ip := Observable{Kind: ObservableIP, Value: "192.0.2.1"}
	if got := lookupIDs(m, now, ip); len(got) != 2 {
		t.Fatalf("two sharers of one value: got %v, want 2 hits", got)
	}
	if got := lookupIDs(m, now, Observable{Kind: wire.IndicatorDomain, Value: "old.example"}); got != nil {
		t.Errorf("expired indicator matched: %v", got)
	}
	if got := lookupIDs(m, now.Add(-2*time.Second), Observable{Kind: wire.IndicatorDomain, Value: "old.example"}); len(got) != 1 {
		t.Errorf("indicator before its valid_until: got %v, want a hit", got)
	}
	if got := lookupIDs(m, now, Observable{Kind: wire.IndicatorDomain, Value: "soon.example"}); got != nil {
		t.Errorf("indicator before its valid_from matched: %v", got)
	}
	if !m.Remove(a.ID) || m.Remove(a.ID) {
		t.Fatal("Remove: want true then false")
	}
	var ids []string
	m.Scan(now, func(v *View) { v.Lookup(ip, func(e *Entry) { ids = append(ids, e.ID) }) })
	if !slices.Equal(ids, []string{b.ID}) {
		t.Errorf("after removing one sharer's record: got %v, want only %s", ids, b.ID)
	}
	// A re-share replaces the entry with the same id.
	b2 := *b
	b2.Confidence = 10
	m.Put(&b2)
	if got, _ := m.Get(b.ID); got.Confidence != 10 || m.Len() != 3 {
		t.Errorf("re-share: confidence %d, len %d; want 10, 3", got.Confidence, m.Len())
	}
	cidr := entry(t, "Org1MSP", wire.IndicatorCIDR, "10.0.0.0/8")
	m.Put(cidr)
	m.Remove(cidr.ID)
	if len(m.len4) != 0 || m.cnt4[8] != 0 {
		t.Errorf("removing the last /8 left prefix length state: %v", m.len4)
	}
}

func TestEntryOf(t *testing.T) {
	ind := wire.Indicator{ID: "x", Hash: "h", Type: wire.IndicatorDomain, Value: "evil.example", TLP: wire.TLPClear,
		ValidUntil: wire.NewTime(time.Unix(100, 0))}
	e, ok := EntryOf(ind)
	if !ok || e.ValidUntil != time.Unix(100, 0).UnixNano() {
		t.Fatalf("EntryOf = %+v, %v", e, ok)
	}
	for _, bad := range []wire.Indicator{
		{Type: wire.IndicatorDomain},                        // no value (not readable)
		{Type: wire.IndicatorDomain, Value: "Evil.Example"}, // not canonical
		{Type: "nope", Value: "x"},
	} {
		if _, ok := EntryOf(bad); ok {
			t.Errorf("EntryOf(%+v) accepted", bad)
		}
	}
}

// FuzzMatcherLookup checks that no observed value makes a lookup panic,
// and that every value a share accepts matches itself.
func FuzzMatcherLookup(f *testing.F) {
	for _, s := range []struct{ typ, v string }{
		{wire.IndicatorIPv4, "192.0.2.1"}, {wire.IndicatorCIDR, "10.0.0.0/8"}, {wire.IndicatorDomain, "A.evil.example."},
		{wire.IndicatorURL, "http://x.example/%41"}, {wire.IndicatorUserAgent, "a\tb"}, {wire.IndicatorEmail, "a@b.example"},
		{wire.IndicatorIPv6, "fe80::1%eth0"}, {wire.IndicatorJA4, "t13d1516h2_8daaf6152771_b186095e22b6"},
	} {
		f.Add(s.typ, s.v)
	}
	f.Fuzz(func(t *testing.T, typ, v string) {
		checkIPv4(t, v)
		checkOneSpaced(t, v)
		if c, err := wire.CanonicalIndicator(wire.IndicatorURL, v); err == nil && c != v && !maybeNonCanonicalURL(v) {
			t.Fatalf("maybeNonCanonicalURL(%q) = false, but it canonicalises to %q", v, c)
		}
		m := NewMatcher()
		now := time.Now()
		m.Scan(now, func(view *View) {
			view.Lookup(Observable{Kind: typ, Value: v}, nil)
			view.Lookup(Observable{Kind: ObservableIP, Value: v}, nil)
		})
		canon, err := wire.CanonicalIndicator(typ, v)
		if err != nil {
			return
		}
		e := &Entry{ID: "id", Hash: "h", Type: typ, Value: canon}
		if !m.Put(e) {
			t.Fatalf("Put of canonical %s %q refused", typ, canon)
		}
		kind := typ
		switch typ {
		case wire.IndicatorIPv4, wire.IndicatorIPv6:
			kind = ObservableIP
		case wire.IndicatorCIDR:
			return // a prefix is matched by addresses, not by itself
		}
		n := 0
		m.Scan(now, func(view *View) { n = view.Lookup(Observable{Kind: kind, Value: canon}, nil) })
		if n != 1 {
			t.Fatalf("canonical %s %q does not match itself (%d hits)", typ, canon, n)
		}
		if !m.Remove("id") || m.Len() != 0 {
			t.Fatal("Remove failed")
		}
	})
}

// BenchmarkMatcherLookup measures observables looked up per second on one
// core against 1,000,000 indicators of mixed types (the figure `make
// bench` prints as intel_match_lookups_per_s). The observables mix hits
// and misses of every kind, half of them hits, with domains four labels
// deep (three parent lookups each). They are looked up as the detector
// does: in batches of one chunk's observables through [View.LookupAll],
// with a hit callback doing the detector's work on a match (read the
// entry, skip an indicator already seen for the same observable, keep
// it). "single" looks them up one at a time through [View.Lookup] with
// the same callback (the matcher's path before batching); "misses" only
// misses (most real traffic).
func BenchmarkMatcherLookup(b *testing.B) {
	benchOnce.Do(buildBench)
	b.Run("mixed", func(b *testing.B) { benchLookups(b, benchMatcher, benchObs, true, true) })
	b.Run("single", func(b *testing.B) { benchLookups(b, benchMatcher, benchObs, true, false) })
	b.Run("misses", func(b *testing.B) { benchLookups(b, benchMatcher, benchMisses, false, true) })
}

var (
	benchOnce             sync.Once
	benchMatcher          *Matcher
	benchObs, benchMisses []Observable
)

// buildBench fills the benchmark's matcher and its observables: for
// every 97th indicator one observable that hits it and one of the same
// kind that misses.
func buildBench() {
	const n = 1_000_000
	m := NewMatcher()
	var obs []Observable
	for i := range n {
		var typ, v string
		switch i % 10 {
		case 0, 1, 2, 3:
			typ, v = wire.IndicatorIPv4, fmt.Sprintf("%d.%d.%d.%d", 11+i>>24&0x7f, i>>16&0xff, i>>8&0xff, i&0xff)
		case 4, 5, 6:
			typ, v = wire.IndicatorDomain, fmt.Sprintf("host%d.example%d.com", i, i%97)
		case 7, 8:
			typ, v = wire.IndicatorSHA256, fmt.Sprintf("%064x", i*2654435761)
		default:
			switch i % 30 {
			case 9:
				typ, v = wire.IndicatorURL, fmt.Sprintf("http://u%d.example/p/%d", i, i)
			case 19:
				typ, v = wire.IndicatorCIDR, fmt.Sprintf("100.%d.%d.0/24", i>>16&0xff, i>>8&0xff)
			default:
				typ, v = wire.IndicatorJA3, fmt.Sprintf("%032x", i)
			}
		}
		m.Put(&Entry{ID: fmt.Sprint(i), Hash: "h", Type: typ, Value: v})
		if i%97 == 0 {
			kind := typ
			switch typ {
			case wire.IndicatorIPv4, wire.IndicatorCIDR:
				kind = ObservableIP
				if typ == wire.IndicatorCIDR {
					v = v[:len(v)-4] + "9"
				}
			case wire.IndicatorDomain:
				v = "a.b." + v // parents walked
			}
			obs = append(obs, Observable{Kind: kind, Value: v})
			// and a miss of the same kind
			miss := Observable{Kind: kind, Value: v[:len(v)-1] + "z"}
			if kind == ObservableIP {
				miss.Value = fmt.Sprintf("9.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff)
			}
			obs = append(obs, miss)
			benchMisses = append(benchMisses, miss)
		}
	}
	// The observables' strings sit together, as a freshly decoded chunk
	// of events' do, not scattered among the million indicators above.
	var arena strings.Builder
	for _, l := range [][]Observable{obs, benchMisses} {
		for _, o := range l {
			arena.WriteString(o.Value)
		}
	}
	all, at := arena.String(), 0
	for _, l := range [][]Observable{obs, benchMisses} {
		for i := range l {
			l[i].Value, at = all[at:at+len(l[i].Value)], at+len(l[i].Value)
		}
	}
	benchMatcher, benchObs = m, obs
	runtime.GC() // the million entries' garbage collection is set-up, not lookups
}

// benchBatch is how many observables the benchmark hands LookupAll at
// once (a chunk of a few hundred events carries thousands).
const benchBatch = 1024

func benchLookups(b *testing.B, m *Matcher, obs []Observable, wantHits, batch bool) {
	hits, kept, cur := 0, 0, -1
	var got []*Entry
	var seen []*Entry // the indicators observable cur matched
	// hit does what the detector's callback does on a match: read the
	// entry (its id, confidence, type), skip an indicator this observable
	// already matched (by entry, as the detector does), keep it.
	hit := func(i int, e *Entry) {
		if i != cur {
			cur, seen = i, seen[:0]
		}
		if slices.Contains(seen, e) {
			return
		}
		seen = append(seen, e)
		if e.Confidence >= 0 && e.Type != "" {
			got = append(got, e)
		}
	}
	runtime.GC() // the million entries' garbage collection is set-up, not lookups
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	m.Scan(time.Now(), func(view *View) {
		for done := 0; done < b.N; {
			at := done % len(obs)
			n := min(b.N-done, len(obs)-at)
			if batch {
				n = min(n, benchBatch)
				hits += view.LookupAll(obs[at:at+n], func(i int, e *Entry) { hit(at+i, e) })
			} else {
				for i, o := range obs[at : at+n] {
					hits += view.Lookup(o, func(e *Entry) { hit(at+i, e) })
				}
			}
			kept += len(got)
			got = got[:0]
			done += n
		}
	})
	cpu := cpuTime() - cpu0
	b.StopTimer()
	// Wall-clock rate, and the rate per second of CPU time the process
	// got: on a shared machine the second is the one-core figure.
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "lookups/cpu-s")
	}
	if b.N >= len(obs) && ((hits > 0) != wantHits || kept == 0 && wantHits) {
		b.Fatalf("%d hits (%d kept) over %d lookups: the observables are not what the benchmark says", hits, kept, b.N)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMaybeNonCanonicalURL checks the fast path's promise on URLs that
// canonicalisation changes in every way it can: a false answer must mean
// the URL is already canonical.
func TestMaybeNonCanonicalURL(t *testing.T) {
	for _, u := range []string{
		"http://evil.example/a", "http://evil.example./a", "HTTP://evil.example/", "http://Evil.example/",
		"http://evil.example", "http://evil.example?q", "http://evil.example:80/", "https://evil.example:443/x",
		"ftp://evil.example:21/", "http://evil.example:8080/", "http://evil.example/a%7eb", "http://evil.example/a#f",
		"http://u:p@evil.example/", "http://[2001:DB8::1]/", "http://010.001.1.1/", "http://1.2.3.4/a/../b",
		"http://evil.example/a/./b", "http://xn--bcher-kva.example/", "http://evil.example/ a", "http://evil.example/A?B=C",
		"http://evil.example.:8080/", "http://evil..example/",
	} {
		c, err := wire.CanonicalIndicator(wire.IndicatorURL, u)
		if err == nil && c != u && !maybeNonCanonicalURL(u) {
			t.Errorf("maybeNonCanonicalURL(%q) = false, but it canonicalises to %q", u, c)
		}
	}
}

// TestMatcherChurn puts and removes many indicators of every key kind in
// a small table (growth, backward-shift deletion, arena compaction) and
// checks after each step that exactly the live ones match, against a
// plain map as the model.
func TestMatcherChurn(t *testing.T) {
	m := NewMatcher()
	m.idx.minGarbage = 0 // compact as soon as garbage is half the arena
	m.minDead = 0        // and the entries as soon as half are removed
	compactions, entCompactions := 0, 0
	type ind struct {
		e   *Entry
		obs Observable
	}
	var all []ind
	for i := range 6000 {
		var typ, v string
		var o Observable
		switch i % 6 {
		case 0:
			typ, v = wire.IndicatorIPv4, fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff)
			o = Observable{Kind: ObservableIP, Value: v}
		case 1:
			typ, v = wire.IndicatorIPv6, fmt.Sprintf("2001:db8::%x", i)
			o = Observable{Kind: ObservableIP, Value: v}
		case 2:
			typ, v = wire.IndicatorCIDR, fmt.Sprintf("100.%d.%d.0/24", i>>8&0xff, i&0xff)
			o = Observable{Kind: ObservableIP, Value: fmt.Sprintf("100.%d.%d.77", i>>8&0xff, i&0xff)}
		case 3:
			typ, v = wire.IndicatorCIDR, fmt.Sprintf("2001:db8:%x::/48", i)
			o = Observable{Kind: ObservableIP, Value: fmt.Sprintf("2001:db8:%x::5", i)}
		case 4:
			typ, v = wire.IndicatorDomain, fmt.Sprintf("h%d.example", i)
			o = Observable{Kind: wire.IndicatorDomain, Value: "X.H" + fmt.Sprint(i) + ".example"}
		default:
			typ, v = wire.IndicatorSHA1, fmt.Sprintf("%040x", i)
			o = Observable{Kind: wire.IndicatorSHA1, Value: strings.ToUpper(v)}
		}
		e := entry(t, "Org1MSP", typ, v)
		all = append(all, ind{e, o})
	}
	live := map[int]bool{}
	arena, ents := 0, 0
	check := func(step string) {
		t.Helper()
		if len(m.idx.arena) < arena {
			compactions++
		}
		if len(m.ents) < ents {
			entCompactions++
		}
		arena, ents = len(m.idx.arena), len(m.ents)
		n := 0
		m.Scan(time.Now(), func(view *View) {
			for i, x := range all {
				var ids []string
				got := view.Lookup(x.obs, func(e *Entry) { ids = append(ids, e.ID) })
				want := 0
				if live[i] {
					want = 1
				}
				if got != want || got == 1 && ids[0] != x.e.ID {
					t.Fatalf("%s: %s %s: %d hits %v, want %d of %s", step, x.e.Type, x.obs.Value, got, ids, want, x.e.ID)
				}
				n += got
			}
		})
		if n != len(live) || m.Len() != len(live) {
			t.Fatalf("%s: %d hits, Len %d, want %d", step, n, m.Len(), len(live))
		}
	}
	for i, x := range all {
		m.Put(x.e)
		live[i] = true
	}
	check("all put")
	for round := range 3 {
		for i, x := range all {
			if (i+round)%3 != 0 {
				m.Remove(x.e.ID)
				delete(live, i)
			}
		}
		check(fmt.Sprintf("round %d removed", round))
		for i, x := range all {
			if (i+round)%2 == 0 && !live[i] {
				c := *x.e
				m.Put(&c)
				live[i] = true
			}
		}
		check(fmt.Sprintf("round %d re-put", round))
	}
	for i, x := range all {
		m.Remove(x.e.ID)
		delete(live, i)
	}
	check("all removed")
	if compactions == 0 || entCompactions == 0 {
		t.Errorf("the churn compacted the arena %d times and the entries %d times, want both", compactions, entCompactions)
	}
	if m.idx.used != 0 || len(m.len4)+len(m.len6) != 0 {
		t.Errorf("empty matcher keeps %d slots, prefix lengths %v %v", m.idx.used, m.len4, m.len6)
	}
}

// TestMatcherEntriesStay checks that an entry the matcher handed out
// keeps its fields after it is replaced, removed, and the matcher's
// entries are moved (grown, compacted): Put stores a copy, never changed.
func TestMatcherEntriesStay(t *testing.T) {
	m := NewMatcher()
	m.minDead = 0
	orig := entry(t, "Org1MSP", wire.IndicatorDomain, "evil.example")
	m.Put(orig)
	orig.Confidence = 99 // the caller's copy: the matcher's is not changed
	got, _ := m.Get(orig.ID)
	if got == orig || got.Confidence == 99 {
		t.Fatalf("Get = %p confidence %d; want the matcher's own copy (not %p)", got, got.Confidence, orig)
	}
	want := *got
	var held []*Entry
	m.Scan(time.Now(), func(v *View) {
		v.Lookup(Observable{Kind: wire.IndicatorDomain, Value: "evil.example"}, func(e *Entry) { held = append(held, e) })
	})
	for i := range 200 { // grows the entry array several times
		m.Put(entry(t, "Org1MSP", wire.IndicatorIPv4, fmt.Sprintf("192.0.2.%d", i)))
	}
	re := *got
	re.Confidence = 5
	m.Put(&re) // a re-share
	for i := range 200 {
		m.Remove(entry(t, "Org1MSP", wire.IndicatorIPv4, fmt.Sprintf("192.0.2.%d", i)).ID) // compacts
	}
	m.Remove(want.ID)
	for _, e := range append(held, got) {
		if !reflect.DeepEqual(*e, want) {
			t.Errorf("held entry changed: got %+v, want %+v", *e, want)
		}
	}
}

// TestMatcherIndexFull checks that a Put the index has no room for is
// refused, leaving the entry it would replace and every other in place.
func TestMatcherIndexFull(t *testing.T) {
	m := NewMatcher()
	a := entry(t, "Org1MSP", wire.IndicatorDomain, "a.example")
	if !m.Put(a) {
		t.Fatal("Put a refused")
	}
	m.idx.maxArena = len(m.idx.arena) + recKey + len("b.example") - 1
	b := entry(t, "Org1MSP", wire.IndicatorDomain, "b.example")
	re := *a
	re.Value = "long.a.example"
	for _, tc := range []struct {
		name string
		e    *Entry
	}{{"new", b}, {"re-share", &re}} {
		if m.Put(tc.e) {
			t.Errorf("%s: Put accepted beyond the arena's limit", tc.name)
		}
	}
	got := map[string]int{}
	m.Scan(time.Now(), func(v *View) {
		for _, d := range []string{"a.example", "b.example", "long.a.example"} {
			got[d] = v.Lookup(Observable{Kind: wire.IndicatorDomain, Value: d}, nil)
		}
	})
	if want := map[string]int{"a.example": 1, "b.example": 0, "long.a.example": 1}; !reflect.DeepEqual(got, want) || m.Len() != 1 {
		t.Errorf("hits %v (Len %d), want %v (Len 1)", got, m.Len(), want)
	}
}

// TestLookupAllOrder checks that LookupAll reports matches in the order of
// its observables, each observable's most specific first, across more
// observables than one probe group.
func TestLookupAllOrder(t *testing.T) {
	m := NewMatcher()
	for _, x := range []struct{ typ, v string }{
		{wire.IndicatorIPv4, "203.0.113.9"}, {wire.IndicatorCIDR, "203.0.113.0/24"}, {wire.IndicatorCIDR, "203.0.0.0/16"},
		{wire.IndicatorDomain, "evil.example"}, {wire.IndicatorDomain, "c2.evil.example"},
	} {
		m.Put(entry(t, "Org1MSP", x.typ, x.v))
	}
	var obs []Observable
	var want []string
	for i := range 3 * probeGroup {
		switch i % 3 {
		case 0:
			obs = append(obs, Observable{Kind: ObservableIP, Value: "203.0.113.9"})
			want = append(want, fmt.Sprint(i, " ipv4:203.0.113.9"), fmt.Sprint(i, " cidr:203.0.113.0/24"), fmt.Sprint(i, " cidr:203.0.0.0/16"))
		case 1:
			obs = append(obs, Observable{Kind: wire.IndicatorDomain, Value: "a.c2.evil.example"})
			want = append(want, fmt.Sprint(i, " domain:c2.evil.example"), fmt.Sprint(i, " domain:evil.example"))
		default:
			obs = append(obs, Observable{Kind: ObservableIP, Value: "192.0.2.1"})
		}
	}
	var got []string
	m.Scan(time.Now(), func(v *View) {
		if n := v.LookupAll(obs, func(i int, e *Entry) { got = append(got, fmt.Sprint(i, " ", e.Type, ":", e.Value)) }); n != len(want) {
			t.Errorf("LookupAll = %d, want %d", n, len(want))
		}
	})
	if !slices.Equal(got, want) {
		t.Errorf("LookupAll order:\n got %v\nwant %v", got, want)
	}
}

// TestFastPaths checks the parsers that spare netip and strings.Fields
// their work against them.
func TestFastPaths(t *testing.T) {
	for _, s := range []string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..3.4",
		".1.2.3", "1.2.3.", "1.2.3.4 ", "::1", "1.2.3.0004", "00.1.1.1", ""} {
		checkIPv4(t, s)
	}
	for _, s := range []string{"", "a", "a b", " a", "a ", "a  b", "a\tb", "a\u00a0b", "Mozilla/5.0 (X11)"} {
		checkOneSpaced(t, s)
	}
}

func checkIPv4(t *testing.T, s string) {
	t.Helper()
	k, ok := parseIPv4(s)
	a, err := netip.ParseAddr(s)
	if ok && (err != nil || !a.Is4() || v4key(a) != k) {
		t.Errorf("parseIPv4(%q) = %x, true; netip says %v, %v", s, k, a, err)
	}
	if !ok && err == nil && a.Is4() {
		t.Errorf("parseIPv4(%q) refused an address netip parses as IPv4", s)
	}
}

func checkOneSpaced(t *testing.T, s string) {
	t.Helper()
	if oneSpaced(s) && strings.Join(strings.Fields(s), " ") != s {
		t.Errorf("oneSpaced(%q) = true, but its fields join differently", s)
	}
}
