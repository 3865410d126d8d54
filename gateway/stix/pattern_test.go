package stix

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// patternSyntaxCases are patterns with whether the STIX 2.1 grammar
// accepts them; the OASIS reference parser agrees on every one
// (TestPatternGrammarAgreesWithOASIS).
var patternSyntaxCases = []struct {
	pattern string
	valid   bool
}{
	{"[a:b = 'x']", true},
	{"[a:b = 'x'] AND [c:d = 'y']", true},
	{"[a:b = 'x'] and [c:d = 'y']", false}, // keywords are upper case
	{"[a:b = 'x'] or [c:d = 'y']", false},
	{"[a:b = true]", true},
	{"[a:b = TRUE]", false},  // booleans are lower case
	{`[a:b = 'x\n']`, false}, // only \' and \\ escape
	{`[a:b = 'x\\']`, true},
	{`[a:b = 'it\'s']`, true},
	{"[a-b:c-d = 'x']", false}, // hyphenated property names must be quoted
	{"[a:b.c-d = 'x']", false},
	{"[a:'b' = 'x']", true},
	{"[a:b[*].c = 'x']", true},
	{"[a:b[0] = 'x']", true},
	{"[a:b = 'x'] WITHIN 5 SECONDS", true},
	{"[a:b = 'x'] WITHIN 5.5 SECONDS", true},
	{"[a:b = 'x'] REPEATS 2 TIMES", true},
	{"[a:b = 'x'] START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00.5Z'", true},
	{"[a:b = 'x'] START t'2020-13-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'", false},
	{"[a:b = 'x'] FOLLOWEDBY [c:d = 'y']", true},
	{"[a:b = 'x' OR c:d IN ('a','b')]", true},
	{"[a:b IN ()]", true},
	{"[a:b == 'x']", true},
	{"[a:b <> 'x']", true},
	{"[a:b != 'x']", true},
	{"[a:b > 5]", true},
	{"[a:b >= -1.5]", true},
	{"[a:b < true]", false}, // booleans are not orderable
	{"[a_b:c = 'x']", true},
	{"[file:hashes.'SHA-256' = 'x']", true},
	{"[a:b = h'0a']", true},
	{"[a:b = h'0']", false},
	{"[a:b = b'YQ==']", true},
	{"[a:b = b'YQ=']", false},
	{"[a:b = t'2020-01-01T00:00:00Z']", true},
	{"[a:b = -1]", true},
	{"[a:b = +1.5]", true},
	{"[a:b = .5]", true},
	{"[a:b = 01]", false},
	{"[ a : b = 'x' ]", true},
	{"[a:b = 'x']/*c*/", true},
	{"[a:b = 'x']\n// c", true},
	{"[a:b = 'x'] /* unterminated", false},
	{"([a:b = 'x'])", true},
	{"[(a:b = 'x')]", true},
	{"[a:b NOT = 'x']", true},
	{"[NOT a:b = 'x']", false},
	{"[EXISTS a:b]", true},
	{"[a:b LIKE 'x%']", true},
	{"[a:b MATCHES '^x$']", true},
	{"[a:b ISSUBSET '10.0.0.0/8']", true},
	{"[a:b LIKE 5]", false},
	{"[a:b = 'x'] OR ([c:d = 'y'] AND [e:f='z'])", true},
	{"[a:b = 'x'", false},
	{"a:b = 'x'", false},
	{"[a:b = 'x']]", false},
	{"[a:b = 'x' AND]", false},
	{"[a:b 'x']", false},
	{"[1a:b = 'x']", false},
	{"[a:b.'c'.d = 'x']", true},
	{"[a:b = 'unterminated]", false},
	{"", false},
	{"[]", false},
	{"[a:b = 'x'] WITHIN -5 SECONDS", false},
	{"[a:b = 'x'] REPEATS 2", false},
}

func TestParsePatternSyntax(t *testing.T) {
	for _, c := range patternSyntaxCases {
		t.Run(c.pattern, func(t *testing.T) {
			_, err := ParsePattern(c.pattern)
			if got := err == nil; got != c.valid {
				t.Fatalf("ParsePattern(%q) error = %v, want valid=%v", c.pattern, err, c.valid)
			}
			var se *SyntaxError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
		})
	}
}

func TestParsePatternNestingIsBounded(t *testing.T) {
	deep := strings.Repeat("(", 200) + "[a:b = 'x']" + strings.Repeat(")", 200)
	var se *SyntaxError
	if _, err := ParsePattern(deep); !errors.As(err, &se) {
		t.Fatalf("200 levels of nesting: got %v, want a *SyntaxError", err)
	}
	ok := strings.Repeat("(", 20) + "[a:b = 'x']" + strings.Repeat(")", 20)
	if _, err := ParsePattern(ok); err != nil {
		t.Fatalf("20 levels of nesting: %v", err)
	}
}

func TestObservables(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		pattern string
		want    []Observable // nil: unsupported
	}{
		{"[file:hashes.'SHA-256' = '" + sha + "']", []Observable{{wire.IndicatorSHA256, sha}}},
		{"[file:hashes.SHA256 = '" + sha + "']", []Observable{{wire.IndicatorSHA256, sha}}},
		{"[file:hashes.'sha-1' = 'x']", []Observable{{wire.IndicatorSHA1, "x"}}},
		{"[file:hashes.MD5 = 'x']", []Observable{{wire.IndicatorMD5, "x"}}},
		{"[domain-name:value = 'Example.COM']", []Observable{{wire.IndicatorDomain, "Example.COM"}}},
		{"[ipv4-addr:value = '198.51.100.7']", []Observable{{wire.IndicatorIPv4, "198.51.100.7"}}},
		{"[ipv4-addr:value = '198.51.100.0/24']", []Observable{{wire.IndicatorCIDR, "198.51.100.0/24"}}},
		{"[ipv4-addr:value = '198.51.100.7/32']", []Observable{{wire.IndicatorIPv4, "198.51.100.7"}}},
		{"[ipv6-addr:value = '2001:db8::/32']", []Observable{{wire.IndicatorCIDR, "2001:db8::/32"}}},
		{"[ipv6-addr:value = '2001:db8::1/128']", []Observable{{wire.IndicatorIPv6, "2001:db8::1"}}},
		{"[url:value = 'http://x.example/a']", []Observable{{wire.IndicatorURL, "http://x.example/a"}}},
		{"[email-addr:value = 'a@example.com']", []Observable{{wire.IndicatorEmail, "a@example.com"}}},
		{"[email-message:from_ref.value = 'a@example.com']", []Observable{{wire.IndicatorEmail, "a@example.com"}}},
		{"[network-traffic:extensions.'http-request-ext'.request_header.'user-agent' = 'curl/8']", []Observable{{wire.IndicatorUserAgent, "curl/8"}}},
		{"[network-traffic:extensions.'x-ledgerguard-tls'.ja3 = 'j']", []Observable{{wire.IndicatorJA3, "j"}}},
		// OR inside and between observations: one indicator per value.
		{"[domain-name:value = 'a.example' OR domain-name:value = 'b.example']", []Observable{{wire.IndicatorDomain, "a.example"}, {wire.IndicatorDomain, "b.example"}}},
		{"[domain-name:value = 'a.example'] OR [ipv4-addr:value = '192.0.2.1']", []Observable{{wire.IndicatorDomain, "a.example"}, {wire.IndicatorIPv4, "192.0.2.1"}}},
		{"[domain-name:value IN ('a.example', 'b.example', 'a.example')]", []Observable{{wire.IndicatorDomain, "a.example"}, {wire.IndicatorDomain, "b.example"}}},
		{"([domain-name:value = 'a.example'] OR ([url:value = 'http://u.example/']))", []Observable{{wire.IndicatorDomain, "a.example"}, {wire.IndicatorURL, "http://u.example/"}}},
		// Not expressible.
		{"[domain-name:value = 'a.example'] AND [ipv4-addr:value = '192.0.2.1']", nil},
		{"[domain-name:value = 'a.example'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.1']", nil},
		{"[domain-name:value = 'a.example' AND domain-name:resolves_to_refs[*].value = '192.0.2.1']", nil},
		{"[domain-name:value = 'a.example'] WITHIN 60 SECONDS", nil},
		{"[domain-name:value = 'a.example'] REPEATS 3 TIMES", nil},
		{"[domain-name:value != 'a.example']", nil},
		{"[domain-name:value NOT = 'a.example']", nil},
		{"[domain-name:value LIKE '%.example']", nil},
		{"[domain-name:value MATCHES '^a']", nil},
		{"[ipv4-addr:value ISSUBSET '10.0.0.0/8']", nil},
		{"[EXISTS domain-name:value]", nil},
		{"[file:name = 'a.exe']", nil},
		{"[process:command_line = 'vssadmin.exe Delete Shadows /all /quiet']", nil},
		{"[file:hashes.'SHA-512' = 'x']", nil},
		{"[email-message:to_refs[*].value = 'a@example.com']", nil},
		{"[ipv4-addr:value = 5]", nil},
		{"[domain-name:value = 'a.example' OR file:name = 'x']", nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := ParsePattern(tt.pattern)
			if err != nil {
				t.Fatalf("ParsePattern: %v", err)
			}
			got, err := p.Observables()
			if tt.want == nil {
				var ue *UnsupportedError
				if !errors.As(err, &ue) {
					t.Fatalf("Observables() = %v, %v; want an *UnsupportedError", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Observables: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFormatPatternRoundTrips writes a pattern for a canonical value of
// every type and reads the same indicator back.
func TestFormatPatternRoundTrips(t *testing.T) {
	values := map[string]string{
		wire.IndicatorIPv4:      "192.0.2.1",
		wire.IndicatorIPv6:      "2001:db8::1",
		wire.IndicatorCIDR:      "2001:db8::/32",
		wire.IndicatorDomain:    "evil.example",
		wire.IndicatorURL:       "http://evil.example/it's?a=b\\c",
		wire.IndicatorSHA256:    strings.Repeat("a", 64),
		wire.IndicatorSHA1:      strings.Repeat("b", 40),
		wire.IndicatorMD5:       strings.Repeat("c", 32),
		wire.IndicatorEmail:     "bad@evil.example",
		wire.IndicatorJA3:       strings.Repeat("d", 32),
		wire.IndicatorJA4:       "t13d1516h2_8daaf6152771_b186095e22b6",
		wire.IndicatorUserAgent: `Mozilla/5.0 (it's \ odd)`,
	}
	for _, typ := range wire.IndicatorTypes {
		v, ok := values[typ]
		if !ok {
			t.Fatalf("no test value for type %s", typ)
		}
		canon, err := wire.CanonicalIndicator(typ, v)
		if err != nil {
			t.Fatalf("%s %q: %v", typ, v, err)
		}
		pat, err := FormatPattern(typ, canon)
		if err != nil {
			t.Fatalf("FormatPattern(%s): %v", typ, err)
		}
		p, err := ParsePattern(pat)
		if err != nil {
			t.Fatalf("%s: ParsePattern(%s): %v", typ, pat, err)
		}
		got, err := p.Observables()
		if err != nil {
			t.Fatalf("%s: Observables: %v", typ, err)
		}
		if want := []Observable{{typ, canon}}; !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, want %v", typ, got, want)
		}
	}
	cidr4, _ := FormatPattern(wire.IndicatorCIDR, "10.0.0.0/8")
	if cidr4 != "[ipv4-addr:value = '10.0.0.0/8']" {
		t.Fatalf("IPv4 CIDR pattern = %s", cidr4)
	}
	if _, err := FormatPattern("nope", "x"); err == nil {
		t.Fatal("FormatPattern accepted an unknown type")
	}
}

// FuzzParsePattern: the parser never panics, and a pattern it can share
// round-trips: each canonical observable, written back with FormatPattern,
// parses to exactly itself.
func FuzzParsePattern(f *testing.F) {
	for _, c := range patternSyntaxCases {
		f.Add(c.pattern)
	}
	f.Add("[domain-name:value = 'a.example'] OR [ipv4-addr:value IN ('192.0.2.1', '10.0.0.0/8')]")
	f.Add("[file:hashes.'SHA-256' = '1b92046cff47b821b3666c72dea660b5ec9ebfd9556bd0de33883ebe1de0f3fc']")
	f.Add("[url:value = 'https://158.220.80.167:2967/']")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			return
		}
		obs, err := p.Observables()
		if err != nil {
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T is not an *UnsupportedError", err)
			}
			return
		}
		for _, o := range obs {
			canon, err := wire.CanonicalIndicator(o.Type, o.Value)
			if err != nil {
				continue
			}
			pat, err := FormatPattern(o.Type, canon)
			if err != nil {
				t.Fatalf("FormatPattern(%s, %q): %v", o.Type, canon, err)
			}
			q, err := ParsePattern(pat)
			if err != nil {
				t.Fatalf("written pattern %s does not parse: %v", pat, err)
			}
			back, err := q.Observables()
			if err != nil || len(back) != 1 {
				t.Fatalf("written pattern %s: %v, %v", pat, back, err)
			}
			again, err := wire.CanonicalIndicator(back[0].Type, back[0].Value)
			if err != nil || back[0].Type != o.Type || again != canon {
				t.Fatalf("round trip of %s %q gave %s %q (%v)", o.Type, canon, back[0].Type, again, err)
			}
		}
	})
}
