package wire_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestIDsMatchDocumentedEncoding recomputes each id from the byte string
// the package documentation specifies, so the doc and the code cannot
// drift apart (the gateway implements the same encoding).
func TestIDsMatchDocumentedEncoding(t *testing.T) {
	root := sha("root")
	ev := sha("event")
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"batch", wire.BatchID("Org1MSP", "gw-1", 0, 3, root),
			sha("ledgerguard/batch/v1\x00Org1MSP\x00gw-1\x000\x003\x00" + root)},
		{"batch large sizes", wire.BatchID("Org2MSP", "gw-9", 18446744073709551614, 18446744073709551615, root),
			sha("ledgerguard/batch/v1\x00Org2MSP\x00gw-9\x0018446744073709551614\x0018446744073709551615\x00" + root)},
		{"alert", wire.AlertID("Org1MSP", "gw-1", ev, "nslkdd-mlp", "1.0.0"),
			sha("ledgerguard/alert/v1\x00Org1MSP\x00gw-1\x00" + ev + "\x00nslkdd-mlp\x001.0.0")},
		{"response", wire.ResponseID(ev, "ssh-isolate", 12),
			sha("ledgerguard/response/v1\x00" + ev + "\x00ssh-isolate\x0012")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

func TestIDsSeparateFields(t *testing.T) {
	// Moving a character across a field boundary must change the id.
	a := wire.AlertID("Org1MSP", "gw-1", sha("e"), "m", "1")
	b := wire.AlertID("Org1MSP", "gw-", sha("e"), "m", "1")
	if a == b {
		t.Error("ids collide across field boundaries")
	}
	if wire.BatchID("O", "g", 1, 12, sha("r")) == wire.BatchID("O", "g", 11, 2, sha("r")) {
		t.Error("batch ids collide across size boundary")
	}
}

func TestPseudonym(t *testing.T) {
	got := wire.Pseudonym([]byte("k"), "alice")
	if got != wire.Pseudonym([]byte("k"), "alice") || got == wire.Pseudonym([]byte("k2"), "alice") {
		t.Errorf("pseudonym not keyed and deterministic: %s", got)
	}
	if len(got) != len(wire.PseudonymPrefix)+64 {
		t.Errorf("pseudonym %q has the wrong length", got)
	}
}
