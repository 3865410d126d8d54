package stix

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Observable is one value a pattern names, as ledgerguard shares it: an
// indicator type (wire.Indicator*) and the value as the pattern wrote it
// (not yet canonical).
type Observable struct {
	Type  string
	Value string
}

// TLSExtension is the custom network-traffic extension ledgerguard's
// patterns use for TLS client fingerprints: STIX 2.1 defines no property
// for JA3 or JA4, so export writes
// [network-traffic:extensions.'x-ledgerguard-tls'.ja3 = '…'] and import
// reads it back.
const TLSExtension = "x-ledgerguard-tls"

// PatternPaths lists the object paths ledgerguard can share, each with
// the indicator type it becomes; a comparison on any other path is
// unsupported.
var PatternPaths = []struct{ Path, Type string }{
	{"file:hashes.'SHA-256'", wire.IndicatorSHA256},
	{"file:hashes.'SHA-1'", wire.IndicatorSHA1},
	{"file:hashes.MD5", wire.IndicatorMD5},
	{"domain-name:value", wire.IndicatorDomain},
	{"ipv4-addr:value", wire.IndicatorIPv4 + " (" + wire.IndicatorCIDR + " with a prefix length)"},
	{"ipv6-addr:value", wire.IndicatorIPv6 + " (" + wire.IndicatorCIDR + " with a prefix length)"},
	{"url:value", wire.IndicatorURL},
	{"email-addr:value", wire.IndicatorEmail},
	{"email-message:from_ref.value", wire.IndicatorEmail},
	{"email-message:sender_ref.value", wire.IndicatorEmail},
	{"network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'", wire.IndicatorUserAgent},
	{"network-traffic:extensions.'" + TLSExtension + "'.ja3", wire.IndicatorJA3},
	{"network-traffic:extensions.'" + TLSExtension + "'.ja4", wire.IndicatorJA4},
}

// Observables returns what the pattern matches as ledgerguard indicators:
// one per compared value, in pattern order, duplicates removed. Only
// equality comparisons and IN sets on [PatternPaths], joined by OR inside
// or between observations, are expressible; anything else (AND,
// FOLLOWEDBY, qualifiers, NOT, other operators or paths) gives an
// *UnsupportedError saying what.
func (p *Pattern) Observables() ([]Observable, error) {
	var out []Observable
	if err := obsObservables(p.root, &out); err != nil {
		return nil, err
	}
	seen := make(map[Observable]bool, len(out))
	uniq := out[:0]
	for _, o := range out {
		if !seen[o] {
			seen[o] = true
			uniq = append(uniq, o)
		}
	}
	return uniq, nil
}

func obsObservables(x obsExpr, out *[]Observable) error {
	switch x := x.(type) {
	case obsBinary:
		switch x.op {
		case "OR":
			if err := obsObservables(x.l, out); err != nil {
				return err
			}
			return obsObservables(x.r, out)
		case "AND":
			return &UnsupportedError{"it joins observations with AND (several things observed together); only OR can be shared as separate indicators"}
		default:
			return &UnsupportedError{"it joins observations with FOLLOWEDBY (a sequence); only OR can be shared as separate indicators"}
		}
	case obsQualified:
		return &UnsupportedError{fmt.Sprintf("it uses the %s qualifier; ledgerguard matches single observations without timing", x.qual)}
	case obsSimple:
		return cmpObservables(x.cmp, out)
	}
	return &UnsupportedError{"unknown expression"}
}

func cmpObservables(c cmpExpr, out *[]Observable) error {
	switch c := c.(type) {
	case cmpBinary:
		if c.op == "AND" {
			return &UnsupportedError{"it requires several properties at once (AND inside an observation); only OR can be shared as separate indicators"}
		}
		if err := cmpObservables(c.l, out); err != nil {
			return err
		}
		return cmpObservables(c.r, out)
	case propTest:
		return testObservables(c, out)
	}
	return &UnsupportedError{"unknown comparison"}
}

func testObservables(t propTest, out *[]Observable) error {
	path := t.path.String()
	if t.not {
		return &UnsupportedError{fmt.Sprintf("it negates a comparison on %s (NOT); only equality can be shared", path)}
	}
	if t.op != "=" && t.op != "IN" {
		return &UnsupportedError{fmt.Sprintf("it compares %s with %s; only '=' and IN can be shared", path, t.op)}
	}
	typ, ok := pathType(t.path)
	if !ok {
		return &UnsupportedError{fmt.Sprintf("it compares %s; ledgerguard shares file hashes (SHA-256, SHA-1, MD5), domain names, IP addresses and ranges, URLs, e-mail addresses, user agents and JA3/JA4 fingerprints", path)}
	}
	for _, v := range t.values {
		if v.kind != tString {
			return &UnsupportedError{fmt.Sprintf("it compares %s with the non-string literal %s", path, v.text)}
		}
		*out = append(*out, observable(typ, v.text))
	}
	return nil
}

// observable turns an address with a prefix length into a cidr indicator,
// and a host prefix (/32, /128) back into an address.
func observable(typ, v string) Observable {
	if typ != wire.IndicatorIPv4 && typ != wire.IndicatorIPv6 {
		return Observable{typ, v}
	}
	addr, bits, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return Observable{typ, v}
	}
	if (typ == wire.IndicatorIPv4 && bits == "32") || (typ == wire.IndicatorIPv6 && bits == "128") {
		return Observable{typ, addr}
	}
	return Observable{wire.IndicatorCIDR, v}
}

// pathType maps an object path to an indicator type. Hash names and the
// User-Agent header name compare case-insensitively (producers write
// 'SHA-256', 'SHA256' and 'sha256'); everything else exactly.
func pathType(p ObjectPath) (string, bool) {
	keys := make([]string, 0, len(p.Steps))
	for _, s := range p.Steps {
		if s.IsIndex {
			return "", false
		}
		keys = append(keys, s.Key)
	}
	switch {
	case p.Type == "file" && len(keys) == 2 && keys[0] == "hashes":
		switch strings.ToUpper(strings.ReplaceAll(keys[1], "-", "")) {
		case "SHA256":
			return wire.IndicatorSHA256, true
		case "SHA1":
			return wire.IndicatorSHA1, true
		case "MD5":
			return wire.IndicatorMD5, true
		}
	case len(keys) == 1 && keys[0] == "value":
		switch p.Type {
		case "domain-name":
			return wire.IndicatorDomain, true
		case "ipv4-addr":
			return wire.IndicatorIPv4, true
		case "ipv6-addr":
			return wire.IndicatorIPv6, true
		case "url":
			return wire.IndicatorURL, true
		case "email-addr":
			return wire.IndicatorEmail, true
		}
	case p.Type == "email-message" && len(keys) == 2 && (keys[0] == "from_ref" || keys[0] == "sender_ref") && keys[1] == "value":
		return wire.IndicatorEmail, true
	case p.Type == "network-traffic" && len(keys) == 4 && keys[0] == "extensions" && keys[1] == "http-request-ext" &&
		keys[2] == "request_header" && strings.EqualFold(keys[3], "User-Agent"):
		return wire.IndicatorUserAgent, true
	case p.Type == "network-traffic" && len(keys) == 3 && keys[0] == "extensions" && keys[1] == TLSExtension:
		switch keys[2] {
		case "ja3":
			return wire.IndicatorJA3, true
		case "ja4":
			return wire.IndicatorJA4, true
		}
	}
	return "", false
}

// FormatPattern writes the STIX 2.1 pattern that matches exactly one
// indicator of type typ with the (canonical) value.
func FormatPattern(typ, value string) (string, error) {
	var path string
	switch typ {
	case wire.IndicatorIPv4:
		path = "ipv4-addr:value"
	case wire.IndicatorIPv6:
		path = "ipv6-addr:value"
	case wire.IndicatorCIDR:
		path = "ipv4-addr:value"
		if strings.Contains(value, ":") {
			path = "ipv6-addr:value"
		}
	case wire.IndicatorDomain:
		path = "domain-name:value"
	case wire.IndicatorURL:
		path = "url:value"
	case wire.IndicatorSHA256:
		path = "file:hashes.'SHA-256'"
	case wire.IndicatorSHA1:
		path = "file:hashes.'SHA-1'"
	case wire.IndicatorMD5:
		path = "file:hashes.MD5"
	case wire.IndicatorEmail:
		path = "email-addr:value"
	case wire.IndicatorJA3, wire.IndicatorJA4:
		path = "network-traffic:extensions.'" + TLSExtension + "'." + typ
	case wire.IndicatorUserAgent:
		path = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
	default:
		return "", fmt.Errorf("no STIX pattern for indicator type %q", typ)
	}
	return "[" + path + " = " + quote(value) + "]", nil
}

// sortedUnique returns the distinct strings of s in order.
func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	sort.Strings(out)
	n := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[n-1] {
			out[n] = out[i]
			n++
		}
	}
	return out[:n]
}
