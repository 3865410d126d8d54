package pseudonym

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

type recordingConnector struct{ got wire.Action }

func (r *recordingConnector) Execute(_ context.Context, a wire.Action, _ connector.Request) (string, error) {
	r.got = a
	return "ok", nil
}

type rollbackRecorder struct{ recordingConnector }

func (r *rollbackRecorder) Rollback(_ context.Context, a wire.Action, _ connector.Request) (string, error) {
	r.got = a
	return "undone", nil
}

func TestUnmaskingConnector(t *testing.T) {
	v, err := OpenVault(filepath.Join(t.TempDir(), "v"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	p, err := v.Pseudonym("alice")
	if err != nil {
		t.Fatal(err)
	}
	unknown := wire.Pseudonym(testKey, "never recorded")
	action := wire.Action{Type: "mfa", Params: map[string]string{"user": p, "reason": "bruteforce", "other": unknown}}
	want := map[string]string{"user": "alice", "reason": "bruteforce", "other": unknown}

	inner := &rollbackRecorder{}
	u := Unmask(inner, v)
	if _, err := u.Execute(context.Background(), action, connector.Request{}); err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if got := inner.got.Params[k]; got != w {
			t.Errorf("Execute saw %s = %q, want %q", k, got, w)
		}
	}
	if action.Params["user"] != p {
		t.Fatal("the caller's action was modified")
	}
	if _, err := u.Rollback(context.Background(), action, connector.Request{}); err != nil || inner.got.Params["user"] != "alice" {
		t.Fatalf("Rollback = %v, saw user %q", err, inner.got.Params["user"])
	}

	_, err = Unmask(&recordingConnector{}, v).Rollback(context.Background(), action, connector.Request{})
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Retryable {
		t.Fatalf("Rollback without a rollback = %v, want a non-retryable *connector.Error", err)
	}
}
