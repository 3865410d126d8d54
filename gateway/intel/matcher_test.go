package intel

import (
	"fmt"
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
	for _, o := range slices.Concat(obs, benchMisses) {
		arena.WriteString(o.Value)
	}
	all := arena.String()
	for _, l := range [][]Observable{obs, benchMisses} {
		for i := range l {
			at := strings.Index(all, l[i].Value)
			l[i].Value = all[at : at+len(l[i].Value)]
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
	var ids []string // the indicators observable cur matched
	// hit does what the detector's callback does on a match: read the
	// entry (its id, confidence, type), skip an indicator this observable
	// already matched, keep it.
	hit := func(i int, e *Entry) {
		if i != cur {
			cur, ids = i, ids[:0]
		}
		if slices.Contains(ids, e.ID) {
			return
		}
		ids = append(ids, e.ID)
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
