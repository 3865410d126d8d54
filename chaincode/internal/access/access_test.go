package access_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func identity(t *testing.T, id *ledgertest.Identity) access.Identity {
	t.Helper()
	got, err := access.Of(ledgertest.New().Begin(id).Ctx().GetClientIdentity())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRights(t *testing.T) {
	type rights struct{ gateway, author, analyst, admin, read bool }
	tests := []struct {
		name string
		id   *ledgertest.Identity
		want rights
	}{
		{"gateway", ledgertest.Gateway("Org1MSP", "gw"), rights{gateway: true, read: true}},
		{"author", ledgertest.Role("Org1MSP", "au", "author"), rights{author: true, read: true}},
		{"analyst", ledgertest.Role("Org1MSP", "an", "analyst"), rights{analyst: true, read: true}},
		{"auditor", ledgertest.Role("Org1MSP", "aud", "auditor"), rights{read: true}},
		{"admin", ledgertest.Admin("Org1MSP", "adm"), rights{author: true, analyst: true, admin: true, read: true}},
		{"unknown role", ledgertest.Role("Org1MSP", "x", "root"), rights{}},
		{"no role", ledgertest.Plain("Org1MSP", "p"), rights{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := identity(t, tt.id)
			got := rights{id.Has(access.Gateway), id.Has(access.Author), id.Has(access.Analyst), id.Has(access.Admin), id.Has(access.Read)}
			if got != tt.want {
				t.Errorf("rights = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDeniedNamesTheMissingRight(t *testing.T) {
	id := identity(t, ledgertest.Role("Org2MSP", "aud", "auditor"))
	err := id.Require("AnchorBatch", access.Gateway)
	var de *access.DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want *DeniedError", err)
	}
	want := `access denied: Org2MSP identity "CN=aud,OU=client,O=Org2MSP" lacks role "gateway" (attribute ledgerguard.role) required by AnchorBatch`
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if err := id.RequireOrg("AnchorBatch", "Org1MSP"); !errors.As(err, &de) || !strings.Contains(de.Missing, "act for Org1MSP") {
		t.Errorf("RequireOrg = %v", err)
	}
}

func TestGatewayBinding(t *testing.T) {
	tests := []struct {
		name        string
		id          *ledgertest.Identity
		gateway     string
		wantDenied  bool
		wantMissing string
	}{
		{"bound, own id", ledgertest.BoundGateway("Org1MSP", "gw", "gw-1"), "gw-1", false, ""},
		{"bound, other id", ledgertest.BoundGateway("Org1MSP", "gw", "gw-1"), "gw-2", true, `binding to gateway "gw-2" (attribute ledgerguard.gateway=gw-2; this identity is bound to "gw-1")`},
		{"unbound", ledgertest.Gateway("Org1MSP", "gw"), "gw-2", true, `binding to gateway "gw-2" (attribute ledgerguard.gateway=gw-2; this identity is bound to no gateway)`},
		{"unbound, empty id", ledgertest.Gateway("Org1MSP", "gw"), "", true, "a gateway id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := identity(t, tt.id).RequireGatewayID("AnchorBatch", tt.gateway)
			if !tt.wantDenied {
				if err != nil {
					t.Fatalf("RequireGatewayID(%q) = %v, want nil", tt.gateway, err)
				}
				return
			}
			var de *access.DeniedError
			if !errors.As(err, &de) {
				t.Fatalf("RequireGatewayID(%q) = %v, want *DeniedError", tt.gateway, err)
			}
			if got, want := de.Function, "AnchorBatch"; got != want {
				t.Errorf("Function = %q, want %q", got, want)
			}
			if !strings.Contains(de.Missing, tt.wantMissing) {
				t.Errorf("Missing = %q, want it to name %q", de.Missing, tt.wantMissing)
			}
		})
	}
}

func TestUnreadableIdentityFailsClosed(t *testing.T) {
	var typedNil *cid.ClientID
	if _, err := access.Of(typedNil); err == nil {
		t.Error("typed-nil identity accepted")
	}
	if _, err := access.Of(nil); err == nil {
		t.Error("nil identity accepted")
	}
}

func TestRefusalsAreDenied(t *testing.T) {
	_, unreadable := access.Of(nil)
	denied := access.Identity{MSP: "Org1MSP"}.Require("RaiseAlerts", access.Gateway)
	for _, err := range []error{unreadable, denied} {
		e, ok := wire.ParseError(wire.Encode(err).Error())
		if !ok || e.Code != wire.CodeDenied {
			t.Errorf("%v encodes as %+v, want %s", err, e, wire.CodeDenied)
		}
	}
	var ue *access.UnreadableError
	if !errors.As(unreadable, &ue) {
		t.Errorf("got %T, want *access.UnreadableError", unreadable)
	}
}
