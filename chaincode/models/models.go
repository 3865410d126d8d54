// Package models is the "models" contract: the provenance of the detection
// models gateways may serve. An author registers a model version (its file
// sha256, the sha256 of its canonical feature spec, the hashes of its
// training data and its measured metrics); it becomes approved when a
// quorum of member organisations' admins approved that exact record; any
// member organisation's admin can revoke it at once, without a quorum.
// Gateways in strict mode serve only approved versions (ListModels) and
// unload a version as soon as they read its revocation.
//
// Guarantees:
//   - a registration is immutable: re-registering a (name, version) with
//     identical content is a no-op, with other content a conflict (a new
//     model needs a new version), and a revoked version stays revoked;
//   - only members' authors and admins register, only members' admins
//     approve, each organisation counted once;
//   - no single member approves a model alone: a model is served for
//     every member, so it becomes approved only with approvals from a
//     majority of the members current at that approval (floor(n/2)+1 of
//     n, recomputed at every approval because the membership may grow),
//     whatever quorum the registrant asked; a quorum below that floor is
//     raised to it at registration, not refused;
//   - revocation needs no quorum: the consortium must be able to stop a bad
//     model fast, and any single member that distrusts a model is reason
//     enough not to run it on shared infrastructure. It may be done by any
//     member organisation's admin, or by an author of the registering
//     organisation (withdrawing its own model), always with a reason;
//   - every registration lives under one key (lg.model name, version), so
//     its history (GetModelHistory) is the full audit trail, and model
//     writes never touch keys alert, batch or policy traffic writes.
package models

import (
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/contract"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgerview"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Contract is the models contract, registered as "models".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	return &Contract{Contract: contract.Named(wire.ContractModels)}
}

// RegisterModel records a model version (modelJSON is a wire.ModelRecord
// without chaincode-set fields) in state registered and returns it as
// JSON. A replay of the same registration returns the stored record and
// writes nothing.
func (c *Contract) RegisterModel(ctx contractapi.TransactionContextInterface, modelJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxRegisterModel, access.Author, func(tx contract.Call) (*wire.ModelRecord, error) { return register(tx, modelJSON) })
}

func register(c contract.Call, modelJSON string) (*wire.ModelRecord, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	m, err := wire.Decode[wire.ModelRecord]([]byte(modelJSON), "model")
	if err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return nil, err
	}
	n := len(members.MSPs)
	// A model is served for every member, so no quorum below a majority
	// of the members stands: a smaller one is raised to the floor here
	// (before the replay check, so replaying the same request matches),
	// and approval checks the floor again against the membership of
	// that moment.
	if m.Quorum != 0 {
		m.Quorum = max(m.Quorum, ledgerview.Floor(members))
	}
	if m.Quorum > n {
		return nil, &wire.ValidationError{Field: "quorum", Reason: fmt.Sprintf("%d exceeds the %d consortium members", m.Quorum, n)}
	}
	existing, key, err := load(stub, m.Name, m.Version)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		if existing.SameRegistration(&m) {
			return existing, nil // replay of the same registration
		}
		return nil, &state.ConflictError{Kind: "model", ID: ref(m.Name, m.Version),
			Reason: fmt.Sprintf("version %s is already registered (%s) with other content; register a new version", m.Version, existing.State)}
	}
	if m.Quorum == 0 {
		m.Quorum = wire.DefaultQuorum(n)
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	actor := id.Actor()
	m.Owner, m.State, m.RegisteredBy, m.RegisteredAt, m.RegisteredTx = id.MSP, wire.ModelRegistered, &actor, now, stub.GetTxID()
	if err := state.Put(stub, key, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// ApproveModel records the caller's organisation's approval of model name
// version version (the caller must be an admin of a member) and marks it
// approved once the quorum is reached. An organisation that already
// approved is a no-op; a revoked version cannot be approved. Returns the
// record.
func (c *Contract) ApproveModel(ctx contractapi.TransactionContextInterface, name, version string) (string, error) {
	return contract.Submit(ctx, wire.TxApproveModel, access.Admin, func(tx contract.Call) (*wire.ModelRecord, error) { return approve(tx, name, version) })
}

func approve(c contract.Call, name, version string) (*wire.ModelRecord, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return nil, err
	}
	m, key, err := mustLoad(stub, name, version)
	if err != nil {
		return nil, err
	}
	for _, a := range m.Approvals {
		if a.MSP == id.MSP {
			return m, nil // this organisation already approved: idempotent
		}
	}
	if m.State == wire.ModelRevoked {
		return nil, &state.StateError{Kind: "model", ID: ref(name, version), State: m.State, Action: "approve"}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	m.Approvals = append(m.Approvals, wire.Approval{MSP: id.MSP, Subject: id.Subject, At: now, TxID: txID})
	// An approval after the quorum is recorded too (more organisations
	// vouching is worth keeping) but does not move the approval time.
	if m.State == wire.ModelRegistered && ledgerview.QuorumReached(m.Approvals, members, m.Quorum, wire.ScopeConsortium, m.Owner) {
		m.State, m.ApprovedAt, m.ApprovedTx = wire.ModelApproved, now, txID
	}
	if err := state.Put(stub, key, m); err != nil {
		return nil, err
	}
	return m, nil
}

// RevokeModel ends model name version version (registered or approved)
// with a reason, at once: any member organisation's admin may, and so may
// an author of the registering organisation. Revoking a revoked version
// is a no-op. Returns the record.
func (c *Contract) RevokeModel(ctx contractapi.TransactionContextInterface, name, version, reason string) (string, error) {
	return contract.Submit(ctx, wire.TxRevokeModel, access.Author, func(tx contract.Call) (*wire.ModelRecord, error) { return revoke(tx, name, version, reason) })
}

func revoke(c contract.Call, name, version, reason string) (*wire.ModelRecord, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if err := wire.ValidateReason(reason); err != nil {
		return nil, err
	}
	if _, err := ledgerview.MemberFor(stub, id, fn); err != nil {
		return nil, err
	}
	m, key, err := mustLoad(stub, name, version)
	if err != nil {
		return nil, err
	}
	if !id.Admin {
		// An author (not admin) may withdraw only its own organisation's model.
		if err := id.RequireOrg(fn, m.Owner); err != nil {
			return nil, id.Deny(fn, fmt.Sprintf("org admin (certificate OU %q), or an author of %s (the registering organisation)", access.AdminOU, m.Owner))
		}
	}
	if m.State == wire.ModelRevoked {
		return m, nil
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	actor := id.Actor()
	m.State, m.RevokedAt, m.RevokedTx, m.RevokedBy, m.RevokeReason = wire.ModelRevoked, now, stub.GetTxID(), &actor, reason
	if err := state.Put(stub, key, m); err != nil {
		return nil, err
	}
	return m, nil
}

// GetModel returns model name version version as JSON.
func (c *Contract) GetModel(ctx contractapi.TransactionContextInterface, name, version string) (string, error) {
	return contract.Read(ctx, wire.TxGetModel, func(stub shim.ChaincodeStubInterface) (*wire.ModelRecord, error) {
		m, _, err := mustLoad(stub, name, version)
		return m, err
	})
}

// ListModels returns a page (wire.Page of wire.ModelRecord) of model
// versions matching filterJSON (a wire.ModelFilter; "" = all), ordered by
// name then version (as text).
func (c *Contract) ListModels(ctx contractapi.TransactionContextInterface, filterJSON string, pageSize int32, bookmark string) (string, error) {
	return contract.List(ctx, wire.TxListModels, filterJSON, pageSize, bookmark, func(f *wire.ModelFilter) contract.Query[wire.ModelRecord] {
		var attrs []string
		if f.Name != "" {
			attrs = []string{f.Name}
		}
		return contract.Query[wire.ModelRecord]{ObjectType: keys.Model, Attrs: attrs, Keep: f.Match}
	})
}

// GetModelHistory returns a page (wire.Page of wire.HistoryEntry of
// wire.ModelRecord) of every write to model name version version, newest
// first: registration, each approval, revocation.
func (c *Contract) GetModelHistory(ctx contractapi.TransactionContextInterface, name, version string, pageSize int32, bookmark string) (string, error) {
	return contract.History[wire.ModelRecord](ctx, wire.TxGetModelHistory, pageSize, bookmark, func(stub shim.ChaincodeStubInterface) (string, error) {
		_, key, err := mustLoad(stub, name, version)
		return key, err
	})
}

// load returns the record of (name, version), or nil if none, and its key.
func load(stub shim.ChaincodeStubInterface, name, version string) (*wire.ModelRecord, string, error) {
	if err := wire.ValidateModelName(name, version); err != nil {
		return nil, "", err
	}
	key, err := keys.Key(keys.Model, name, version)
	if err != nil {
		return nil, "", &wire.ValidationError{Field: "name", Reason: err.Error()}
	}
	m, found, err := state.Get[wire.ModelRecord](stub, key)
	if err != nil {
		return nil, key, err
	}
	if !found {
		return nil, key, nil
	}
	return m, key, nil
}

// mustLoad is load that reports a missing record as *state.NotFoundError.
func mustLoad(stub shim.ChaincodeStubInterface, name, version string) (*wire.ModelRecord, string, error) {
	m, key, err := load(stub, name, version)
	if err != nil {
		return nil, key, err
	}
	if m == nil {
		return nil, key, &state.NotFoundError{Kind: "model", ID: ref(name, version)}
	}
	return m, key, nil
}

func ref(name, version string) string { return name + "@" + version }
