package keys

import (
	"errors"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestKeyErrorIsInvalid(t *testing.T) {
	_, err := Key(Batch, "bad\xff")
	var ke *KeyError
	if !errors.As(err, &ke) {
		t.Fatalf("got %v, want a *KeyError", err)
	}
	if got, want := ke.ErrorCode(), wire.CodeInvalid; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
