package wire

import (
	"errors"
	"testing"
)

func TestCanonicalIndicator(t *testing.T) {
	tests := []struct {
		typ, in, want string
	}{
		{IndicatorIPv4, " 192.0.2.1 ", "192.0.2.1"},
		{IndicatorIPv4, "::ffff:192.0.2.1", "192.0.2.1"},
		{IndicatorIPv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
		{IndicatorIPv6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		{IndicatorCIDR, "10.1.2.3/8", "10.0.0.0/8"},
		{IndicatorCIDR, "2001:DB8::1/32", "2001:db8::/32"},
		{IndicatorDomain, "Evil.Example.COM.", "evil.example.com"},
		{IndicatorDomain, "_dmarc.example.org", "_dmarc.example.org"},
		{IndicatorURL, "HTTP://Evil.Example.com:80", "http://evil.example.com/"},
		{IndicatorURL, "https://evil.example.com:443/a%7eb/%2f?q=%3d#frag", "https://evil.example.com/a~b/%2F?q=%3D"},
		{IndicatorURL, "http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"},
		{IndicatorURL, "http://192.0.2.1/x?", "http://192.0.2.1/x?"},
		{IndicatorSHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{IndicatorSHA1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{IndicatorMD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"},
		{IndicatorJA3, "E7D705A3286E19EA42F587B344EE6865", "e7d705a3286e19ea42f587b344ee6865"},
		{IndicatorJA4, "T13D1516H2_8daaf6152771_b186095e22b6", "t13d1516h2_8daaf6152771_b186095e22b6"},
		{IndicatorEmail, "Phish@Evil.Example.COM.", "phish@evil.example.com"},
		{IndicatorUserAgent, "  Mozilla/5.0   (X11;\tLinux)  ", "Mozilla/5.0 (X11; Linux)"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.in, func(t *testing.T) {
			got, err := CanonicalIndicator(tt.typ, tt.in)
			if err != nil {
				t.Fatalf("CanonicalIndicator(%q, %q): %v", tt.typ, tt.in, err)
			}
			if got != tt.want {
				t.Errorf("CanonicalIndicator(%q, %q) = %q, want %q", tt.typ, tt.in, got, tt.want)
			}
			again, err := CanonicalIndicator(tt.typ, got)
			if err != nil || again != got {
				t.Errorf("not idempotent: %q → %q, %v", got, again, err)
			}
		})
	}
}

func TestCanonicalIndicatorRefuses(t *testing.T) {
	tests := []struct{ typ, in string }{
		{IndicatorIPv4, "192.0.2.01"},
		{IndicatorIPv4, "2001:db8::1"},
		{IndicatorIPv6, "192.0.2.1"},
		{IndicatorIPv6, "::ffff:192.0.2.1"},
		{IndicatorIPv6, "fe80::1%eth0"},
		{IndicatorCIDR, "10.0.0.0"},
		{IndicatorDomain, "localhost"},
		{IndicatorDomain, "-bad.example.com"},
		{IndicatorDomain, "bücher.example"},
		{IndicatorDomain, "a..b"},
		{IndicatorURL, "evil.example.com/path"},
		{IndicatorURL, "mailto:x@example.com"},
		{IndicatorSHA256, "abc"},
		{IndicatorMD5, "zz1d8cd98f00b204e9800998ecf8427e"},
		{IndicatorJA4, "t13d1516h2_8daaf6152771"},
		{IndicatorEmail, "no-at-sign.example.com"},
		{IndicatorEmail, "x@localhost"},
		{IndicatorUserAgent, "   "},
		{IndicatorUserAgent, "a\x00b"},
		{"ipv5", "1.2.3.4"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.in, func(t *testing.T) {
			got, err := CanonicalIndicator(tt.typ, tt.in)
			var ve *ValidationError
			if err == nil || !errors.As(err, &ve) {
				t.Errorf("CanonicalIndicator(%q, %q) = %q, %v; want an INVALID error", tt.typ, tt.in, got, err)
			}
		})
	}
}

func TestIndicatorHash(t *testing.T) {
	a := IndicatorHash([]byte("k1"), IndicatorIPv4, "192.0.2.1")
	if len(a) != 64 {
		t.Fatalf("hash %q is not 64 hex digits", a)
	}
	for _, other := range []string{
		IndicatorHash([]byte("k2"), IndicatorIPv4, "192.0.2.1"),
		IndicatorHash([]byte("k1"), IndicatorCIDR, "192.0.2.1"),
		IndicatorHash([]byte("k1"), IndicatorIPv4, "192.0.2.2"),
	} {
		if other == a {
			t.Errorf("different key, type or value gave the same hash %s", a)
		}
	}
	if IndicatorID("Org1MSP", a) == IndicatorID("Org2MSP", a) {
		t.Error("two sharers of one hash got one id")
	}
}

func FuzzCanonicalIndicator(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "10.0.0.0/8", "evil.example.com", "http://a.example/%7e?x", "x@example.com", "Mozilla/5.0"} {
		for _, typ := range IndicatorTypes {
			f.Add(typ, s)
		}
	}
	f.Fuzz(func(t *testing.T, typ, in string) {
		got, err := CanonicalIndicator(typ, in)
		if err != nil {
			return
		}
		again, err := CanonicalIndicator(typ, got)
		if err != nil {
			t.Fatalf("canonical %q of %q refused: %v", got, in, err)
		}
		if again != got {
			t.Fatalf("not idempotent: %q → %q → %q", in, got, again)
		}
	})
}
