// Package access decides who may call what. Rights come from the caller's
// X.509 certificate: the MSP ID that signed it, the Fabric CA attribute
// ledgerguard.role (gateway, author, analyst, auditor, intel), the NodeOU "admin"
// for organisation admins, and the attribute ledgerguard.gateway binding a
// gateway identity to the one gateway id it may anchor batches and raise
// alerts for.
//
// Guarantees: every check fails closed (an unreadable identity is a
// denial, an *UnreadableError), and every denial is a *DeniedError naming
// the caller, the function and the missing right, so clients and tests can
// inspect it with errors.As; both carry wire.CodeDenied. Admins hold the author and analyst rights of their own
// organisation but never the gateway right: a human admin cannot forge
// telemetry anchors or executor outcomes.
package access

import (
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Certificate attributes and OU the chaincode reads.
const (
	RoleAttribute    = "ledgerguard.role"
	GatewayAttribute = "ledgerguard.gateway"
	AdminOU          = "admin"
)

// Roles, the values of the ledgerguard.role attribute.
const (
	RoleGateway = "gateway"
	RoleAuthor  = "author"
	RoleAnalyst = "analyst"
	RoleAuditor = "auditor"
	// RoleIntel shares, revokes and purges the organisation's threat
	// intelligence (and reports sightings) without any other write right.
	RoleIntel = "intel"
)

// Right is something a transaction function requires of its caller.
type Right int

// The rights.
const (
	// Gateway: anchor batches, raise alerts, record outcomes.
	Gateway Right = iota + 1
	// Author: propose and revoke the organisation's policies (or admin).
	Author
	// Analyst: change alert status, request rollbacks (or admin).
	Analyst
	// Admin: approve policies and responses, initialise membership.
	Admin
	// Read: any ledgerguard role, or admin.
	Read
	// Intel: share, revoke and purge the organisation's indicators (role
	// intel or author, or admin).
	Intel
	// Sighting: report sightings of indicators (role gateway, whose
	// matcher sees them, or the Intel right).
	Sighting
)

// String describes the right as a denial names it.
func (r Right) String() string {
	switch r {
	case Gateway:
		return fmt.Sprintf("role %q (attribute %s)", RoleGateway, RoleAttribute)
	case Author:
		return fmt.Sprintf("role %q (attribute %s) or org admin (certificate OU %q)", RoleAuthor, RoleAttribute, AdminOU)
	case Analyst:
		return fmt.Sprintf("role %q (attribute %s) or org admin (certificate OU %q)", RoleAnalyst, RoleAttribute, AdminOU)
	case Admin:
		return fmt.Sprintf("org admin (certificate OU %q)", AdminOU)
	case Read:
		return fmt.Sprintf("a ledgerguard role (attribute %s: gateway, author, analyst, auditor or intel) or org admin (certificate OU %q)", RoleAttribute, AdminOU)
	case Intel:
		return fmt.Sprintf("role %q or %q (attribute %s) or org admin (certificate OU %q)", RoleIntel, RoleAuthor, RoleAttribute, AdminOU)
	case Sighting:
		return fmt.Sprintf("role %q, %q or %q (attribute %s) or org admin (certificate OU %q)", RoleGateway, RoleIntel, RoleAuthor, RoleAttribute, AdminOU)
	}
	return fmt.Sprintf("right(%d)", int(r))
}

// DeniedError is returned when the caller lacks a right. Missing names the
// right in words, e.g. `role "gateway" (attribute ledgerguard.role)`.
type DeniedError struct {
	Function string
	MSP      string
	Subject  string
	Missing  string
}

// Error implements error.
func (e *DeniedError) Error() string {
	return fmt.Sprintf("access denied: %s identity %q lacks %s required by %s", e.MSP, e.Subject, e.Missing, e.Function)
}

// ErrorCode implements wire.Coder: wire.CodeDenied.
func (e *DeniedError) ErrorCode() wire.Code { return wire.CodeDenied }

// UnreadableError is returned when the caller's identity cannot be read
// (no certificate, no MSP ID, an attribute that does not parse). It is a
// denial: the chaincode never guesses who called.
type UnreadableError struct {
	Err error
}

// Error implements error.
func (e *UnreadableError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *UnreadableError) Unwrap() error { return e.Err }

// ErrorCode implements wire.Coder: wire.CodeDenied.
func (e *UnreadableError) ErrorCode() wire.Code { return wire.CodeDenied }

func unreadable(format string, args ...any) error {
	return &UnreadableError{Err: fmt.Errorf(format, args...)}
}

// Identity is the caller as the chaincode sees it.
type Identity struct {
	MSP       string
	Subject   string
	Role      string
	Admin     bool
	GatewayID string
}

// Of reads the caller's identity. Any failure to read it is an error: the
// chaincode never guesses who called.
func Of(ci cid.ClientIdentity) (Identity, error) {
	// contractapi stores the result of cid.New even when it failed, which
	// leaves a typed nil pointer behind a non-nil interface.
	if c, ok := ci.(*cid.ClientID); ci == nil || ok && c == nil {
		return Identity{}, unreadable("read caller identity: the transaction context holds no usable client identity (certificate or MSP ID unreadable)")
	}
	msp, err := ci.GetMSPID()
	if err != nil || msp == "" {
		return Identity{}, unreadable("read caller MSP ID: %v", err)
	}
	cert, err := ci.GetX509Certificate()
	if err != nil {
		return Identity{}, unreadable("read caller certificate: %w", err)
	}
	if cert == nil {
		return Identity{}, unreadable("read caller certificate: caller of %s is not identified by an X.509 certificate", msp)
	}
	id := Identity{MSP: msp, Subject: cert.Subject.String()}
	for _, ou := range cert.Subject.OrganizationalUnit {
		if ou == AdminOU {
			id.Admin = true
		}
	}
	role, found, err := ci.GetAttributeValue(RoleAttribute)
	if err != nil {
		return Identity{}, unreadable("read caller attribute %s: %w", RoleAttribute, err)
	}
	if found {
		switch role {
		case RoleGateway, RoleAuthor, RoleAnalyst, RoleAuditor, RoleIntel:
			id.Role = role
		}
	}
	gw, found, err := ci.GetAttributeValue(GatewayAttribute)
	if err != nil {
		return Identity{}, unreadable("read caller attribute %s: %w", GatewayAttribute, err)
	}
	if found {
		id.GatewayID = gw
	}
	return id, nil
}

// Has reports whether the identity holds the right.
func (id Identity) Has(r Right) bool {
	switch r {
	case Gateway:
		return id.Role == RoleGateway
	case Author:
		return id.Role == RoleAuthor || id.Admin
	case Analyst:
		return id.Role == RoleAnalyst || id.Admin
	case Admin:
		return id.Admin
	case Read:
		return id.Role != "" || id.Admin
	case Intel:
		return id.Role == RoleIntel || id.Role == RoleAuthor || id.Admin
	case Sighting:
		return id.Role == RoleGateway || id.Role == RoleIntel || id.Role == RoleAuthor || id.Admin
	}
	return false
}

// Require returns a *DeniedError unless the identity holds the right.
func (id Identity) Require(function string, r Right) error {
	if id.Has(r) {
		return nil
	}
	return id.Deny(function, r.String())
}

// RequireOrg refuses to let the caller act for an organisation other than
// its own: records that belong to an org are keyed under the creator's
// MSP ID, and any org named in the input must be that MSP ID.
func (id Identity) RequireOrg(function, msp string) error {
	if msp == id.MSP {
		return nil
	}
	return id.Deny(function, fmt.Sprintf("the right to act for %s (an identity acts only for its own MSP)", msp))
}

// RequireGatewayID lets the identity act only for the gateway its
// certificate is bound to by the attribute ledgerguard.gateway. An identity
// without the attribute is refused too: a gateway's log (its batches and
// the alerts raised on them) is written only by that gateway's own
// identity, so no other certificate of the organisation can plant a root
// or an alert in it. The denial's Missing names the binding the call
// needed and the one the identity has, if any.
func (id Identity) RequireGatewayID(function, gatewayID string) error {
	switch id.GatewayID {
	case gatewayID:
		if gatewayID != "" {
			return nil
		}
		return id.Deny(function, fmt.Sprintf("a gateway id to act for (attribute %s)", GatewayAttribute))
	case "":
		return id.Deny(function, fmt.Sprintf("a binding to gateway %q (attribute %s=%s; this identity is bound to no gateway)", gatewayID, GatewayAttribute, gatewayID))
	}
	return id.Deny(function, fmt.Sprintf("a binding to gateway %q (attribute %s=%s; this identity is bound to %q)", gatewayID, GatewayAttribute, gatewayID, id.GatewayID))
}

// Deny builds the denial for a missing right described in words.
func (id Identity) Deny(function, missing string) *DeniedError {
	return &DeniedError{Function: function, MSP: id.MSP, Subject: id.Subject, Missing: missing}
}

// Actor returns the wire form of the identity.
func (id Identity) Actor() wire.Actor { return wire.Actor{MSP: id.MSP, Subject: id.Subject} }

// Require reads the caller's identity and returns it if it holds the right
// that function fn needs; otherwise the error says which right is missing.
// It is the first line of every transaction function.
func Require(ci cid.ClientIdentity, fn string, r Right) (Identity, error) {
	id, err := Of(ci)
	if err != nil {
		return Identity{}, err
	}
	if err := id.Require(fn, r); err != nil {
		return Identity{}, err
	}
	return id, nil
}
