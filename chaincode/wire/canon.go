package wire

import (
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"
)

// CanonicalIndicator returns the canonical form of an indicator value of
// type typ, the form that is hashed, stored and matched. Two spellings of
// the same indicator canonicalise to the same text; a value that is not a
// valid instance of its type is refused. The rules:
//
//   - ipv4: dotted decimal without leading zeros (an IPv4-mapped IPv6
//     address such as ::ffff:192.0.2.1 becomes 192.0.2.1).
//   - ipv6: RFC 5952 text (lower-case hex, longest zero run compressed, no
//     zone); an IPv4-mapped address is refused as ipv6 (share it as ipv4).
//   - cidr: the masked prefix, e.g. "10.1.2.3/8" → "10.0.0.0/8"; IPv6
//     prefixes in RFC 5952 text.
//   - domain: lower-case ASCII, no trailing dot, labels of 1–63 letters,
//     digits, '-' or '_' (no leading or trailing '-'), at most 253
//     characters, at least two labels. Internationalised names must be
//     given in their A-label (xn--) form: DNS carries that form, and
//     converting needs IDNA tables this standard-library-only package does
//     not hold.
//   - url: scheme and host lower-case, host canonical as a domain or IP
//     (IPv6 in brackets), the scheme's default port (http 80, https 443,
//     ftp 21) dropped, an empty path written "/", percent-escapes of
//     unreserved characters decoded and the others upper-cased, fragment
//     dropped, query and user info kept as given.
//   - file-sha256, file-sha1, file-md5, ja3: lower-case hex of the exact
//     length (64, 40, 32, 32).
//   - ja4: lower-case, three '_'-separated parts as JA4 defines them.
//   - email: lower-case; the domain canonical as a domain.
//   - user-agent: leading and trailing white space removed, inner runs of
//     white space collapsed to one space; case kept.
//
// Every canonical value is at most [MaxIndicatorValueLen] bytes of valid
// UTF-8 without control characters.
func CanonicalIndicator(typ, value string) (string, error) {
	if len(value) > MaxIndicatorValueLen {
		return "", invalid("value", "%d bytes exceeds the limit of %d", len(value), MaxIndicatorValueLen)
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return "", invalid("value", "empty %s indicator", typ)
	}
	if !utf8.ValidString(v) {
		return "", invalid("value", "%s indicator is not valid UTF-8", typ)
	}
	for _, r := range v {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return "", invalid("value", "%s indicator %q holds a control character", typ, truncate(v, 80))
		}
	}
	switch typ {
	case IndicatorIPv4:
		return canonIPv4(v)
	case IndicatorIPv6:
		return canonIPv6(v)
	case IndicatorCIDR:
		return canonCIDR(v)
	case IndicatorDomain:
		return canonDomain(v)
	case IndicatorURL:
		return canonURL(v)
	case IndicatorSHA256:
		return canonHex(typ, v, 64)
	case IndicatorSHA1:
		return canonHex(typ, v, 40)
	case IndicatorMD5, IndicatorJA3:
		return canonHex(typ, v, 32)
	case IndicatorJA4:
		return canonJA4(v)
	case IndicatorEmail:
		return canonEmail(v)
	case IndicatorUserAgent:
		return strings.Join(strings.Fields(v), " "), nil
	default:
		return "", invalid("type", "unknown indicator type %q (one of %s)", truncate(typ, 40), strings.Join(IndicatorTypes, ", "))
	}
}

func canonIPv4(v string) (string, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return "", invalid("value", "%q is not an IPv4 address", truncate(v, 80))
	}
	a = a.Unmap()
	if !a.Is4() {
		return "", invalid("value", "%q is an IPv6 address: share it as ipv6", truncate(v, 80))
	}
	return a.String(), nil
}

func canonIPv6(v string) (string, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" || !a.Is6() {
		return "", invalid("value", "%q is not an IPv6 address", truncate(v, 80))
	}
	if a.Is4In6() {
		return "", invalid("value", "%q is an IPv4-mapped address: share it as ipv4", truncate(v, 80))
	}
	return a.String(), nil
}

func canonCIDR(v string) (string, error) {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return "", invalid("value", "%q is not a CIDR prefix", truncate(v, 80))
	}
	if p.Addr().Is4In6() {
		return "", invalid("value", "%q is an IPv4-mapped prefix: write it as IPv4", truncate(v, 80))
	}
	return p.Masked().String(), nil
}

func canonDomain(v string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(v, "."))
	if len(d) == 0 || len(d) > 253 {
		return "", invalid("value", "domain %q must be 1..253 characters", truncate(v, 80))
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", invalid("value", "domain %q needs at least two labels", truncate(v, 80))
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", invalid("value", "domain %q has an empty, over-long or hyphen-edged label", truncate(v, 80))
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				if c >= 0x80 {
					return "", invalid("value", "domain %q is not ASCII: give its A-label (xn--) form", truncate(v, 80))
				}
				return "", invalid("value", "domain %q holds %q", truncate(v, 80), string(c))
			}
		}
	}
	return d, nil
}

var defaultPorts = map[string]string{"http": "80", "https": "443", "ftp": "21"}

func canonURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil {
		return "", invalid("value", "%q is not a URL: %v", truncate(v, 80), err)
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", invalid("value", "URL %q needs a scheme and a host", truncate(v, 80))
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := u.Hostname(), u.Port()
	var h string
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.Zone() != "" {
			return "", invalid("value", "URL %q has a zoned address", truncate(v, 80))
		}
		h = a.String()
		if a.Is6() {
			h = "[" + h + "]"
		}
	} else {
		d, err := canonDomain(host)
		if err != nil {
			return "", invalid("value", "URL %q: %v", truncate(v, 80), err)
		}
		h = d
	}
	if port != "" && port != defaultPorts[scheme] {
		h += ":" + port
	}
	path := normEscapes(u.EscapedPath())
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	b.WriteString(h)
	b.WriteString(path)
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteByte('?')
		b.WriteString(normEscapes(u.RawQuery))
	}
	out := b.String()
	if len(out) > MaxIndicatorValueLen {
		return "", invalid("value", "URL exceeds %d bytes", MaxIndicatorValueLen)
	}
	return out, nil
}

// normEscapes decodes percent-escapes of RFC 3986 unreserved characters
// and upper-cases the hex digits of the others, as RFC 3986 §6.2.2 says
// equivalent URIs normalise.
func normEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c := unhex(s[i+1])<<4 | unhex(s[i+2])
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
				b.WriteByte(c)
			} else {
				b.WriteByte('%')
				b.WriteString(strings.ToUpper(s[i+1 : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func canonHex(typ, v string, n int) (string, error) {
	h := strings.ToLower(v)
	if len(h) != n {
		return "", invalid("value", "%s %q must be %d hex digits", typ, truncate(v, 80), n)
	}
	for i := 0; i < len(h); i++ {
		if !isHex(h[i]) {
			return "", invalid("value", "%s %q must be %d hex digits", typ, truncate(v, 80), n)
		}
	}
	return h, nil
}

// canonJA4 checks the JA4 TLS client fingerprint shape: a 10-character
// readable prefix (protocol, version, SNI flag, counts, ALPN) and two
// 12-digit truncated SHA-256 hashes.
func canonJA4(v string) (string, error) {
	j := strings.ToLower(v)
	parts := strings.Split(j, "_")
	bad := len(parts) != 3 || len(parts[0]) != 10
	for _, c := range []byte(parts[0]) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			bad = true
		}
	}
	for _, p := range parts[1:] {
		if _, err := canonHex("ja4", p, 12); err != nil {
			bad = true
		}
	}
	if bad {
		return "", invalid("value", "%q is not a JA4 fingerprint (a_b_c: 10 characters, 12 hex digits, 12 hex digits)", truncate(v, 80))
	}
	return j, nil
}

func canonEmail(v string) (string, error) {
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || strings.ContainsAny(v, " \t<>") {
		return "", invalid("value", "%q is not an e-mail address", truncate(v, 80))
	}
	d, err := canonDomain(v[at+1:])
	if err != nil {
		return "", invalid("value", "e-mail address %q: %s", truncate(v, 80), err.(*ValidationError).Reason)
	}
	return strings.ToLower(v[:at]) + "@" + d, nil
}
