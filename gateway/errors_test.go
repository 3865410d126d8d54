package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

type codedErr struct{ c Code }

func (e codedErr) Error() string   { return string(e.c) }
func (e codedErr) ErrorCode() Code { return e.c }

func TestErrorCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, ""},
		{"coder", codedErr{CodeNotFound}, CodeNotFound},
		{"wrapped coder", fmt.Errorf("read: %w", codedErr{CodeStoreFailed}), CodeStoreFailed},
		{"gateway error", &Error{Code: CodeBusy, Msg: "later"}, CodeBusy},
		{"coder wins over its context cause", &Error{Code: CodeStoreFailed, Err: context.Canceled}, CodeStoreFailed},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), CodeUnavailable},
		{"deadline", context.DeadlineExceeded, CodeUnavailable},
		{"other", errors.New("boom"), CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestCodeClass(t *testing.T) {
	for _, tt := range []struct{ in, want Code }{
		{CodeNoData, CodeInvalid}, {CodeMissingField, CodeInvalid}, {CodeBlankField, CodeInvalid},
		{CodeInvalidField, CodeInvalid}, {CodeInvalid, CodeInvalid}, {CodeTooLarge, CodeTooLarge},
		{CodeBusy, CodeBusy}, {CodeInternal, CodeInternal},
	} {
		if got := tt.in.Class(); got != tt.want {
			t.Errorf("%q.Class() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorUnwraps(t *testing.T) {
	cause := errors.New("cause")
	err := error(&Error{Code: CodeInternal, Err: cause})
	if !errors.Is(err, cause) {
		t.Error("errors.Is(cause) = false")
	}
	if got, want := err.Error(), "internal: cause"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
