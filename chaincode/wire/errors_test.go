package wire

import (
	"errors"
	"fmt"
	"testing"
)

type codedErr struct{ code Code }

func (e codedErr) Error() string   { return "coded" }
func (e codedErr) ErrorCode() Code { return e.code }

func TestEncodeParseRoundTrip(t *testing.T) {
	for _, c := range codes {
		t.Run(string(c), func(t *testing.T) {
			enc := Encode(fmt.Errorf("RaiseAlerts: %w", codedErr{c}))
			wrapped := "rpc error: code = Aborted desc = chaincode response 500, " + enc.Error()
			got, ok := ParseError(wrapped)
			if !ok {
				t.Fatalf("ParseError(%q) found no code", wrapped)
			}
			if want := (&Error{Code: c, Message: "RaiseAlerts: coded"}); got.Code != want.Code || got.Message != want.Message {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"validation", &ValidationError{Field: "x", Reason: "bad"}, CodeInvalid},
		{"wrapped validation", fmt.Errorf("AnchorBatch: %w", &ValidationError{Field: "x", Reason: "bad"}), CodeInvalid},
		{"uncoded", errors.New("boom"), CodeInternal},
		{"already encoded", &Error{Code: CodeDenied, Message: "m"}, CodeDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Error
			if !errors.As(Encode(tt.err), &got) {
				t.Fatal("Encode did not return an *Error")
			}
			if got.Code != tt.want {
				t.Errorf("got %s, want %s", got.Code, tt.want)
			}
		})
	}
	var ce codedErr
	if !errors.As(Encode(fmt.Errorf("w: %w", codedErr{CodeDenied})), &ce) {
		t.Error("Encode lost the typed error it encodes")
	}
	if Encode(nil) != nil {
		t.Error("Encode(nil) != nil")
	}
}

func TestParseErrorRejects(t *testing.T) {
	for _, s := range []string{"", "not found", "ledgerguard/", "ledgerguard/NOTACODE: x", "ledgerguard/NOT_FOUND x"} {
		if e, ok := ParseError(s); ok {
			t.Errorf("ParseError(%q) = %+v, want no code", s, e)
		}
	}
	// A marker that is not a code does not hide a later real one.
	if e, ok := ParseError("ledgerguard/batch ledgerguard/CONFLICT: m"); !ok || e.Code != CodeConflict {
		t.Errorf("got %+v %v, want CONFLICT", e, ok)
	}
}

func FuzzParseError(f *testing.F) {
	f.Add("chaincode response 500, ledgerguard/DENIED: access denied")
	f.Add("ledgerguard/ledgerguard/INVALID: x")
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := ParseError(s)
		if !ok {
			return
		}
		back, ok2 := ParseError(e.Error())
		if !ok2 || back.Code != e.Code || back.Message != e.Message {
			t.Fatalf("re-parse of %q gave %+v, want %+v", e.Error(), back, e)
		}
	})
}
