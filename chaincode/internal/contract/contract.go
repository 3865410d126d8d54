// Package contract is the scaffolding every contract's transaction
// functions share, so each contract states only what differs: the body of
// a transaction, and for reads the record to load, the keys to list or the
// key whose history to page through.
//
// Guarantees: every error a transaction function returns through this
// package names the function ("GetAlert: ...") and is encoded with
// wire.Encode, so it crosses the chaincode boundary as
// "ledgerguard/<CODE>: <function>: <message>" and still unwraps, in
// process, to the typed error behind it; every result is JSON; every
// transaction first requires the caller's right (access.Read for reads),
// before it reads anything.
package contract

import (
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// fail returns err as transaction function fn returns it: prefixed with
// fn and encoded with its wire.Code.
func fail(fn string, err error) error {
	return wire.Encode(fmt.Errorf("%s: %w", fn, err))
}

// run runs the body of transaction function fn and returns its result as
// JSON, or its error through fail.
func run[T any](fn string, body func() (T, error)) (string, error) {
	res, err := body()
	if err != nil {
		return "", fail(fn, err)
	}
	out, err := state.JSON(res)
	if err != nil {
		return "", wire.Encode(err)
	}
	return out, nil
}

// Call is one invocation of a transaction function as its body sees it.
type Call struct {
	// Fn is the transaction function's name, which denials name.
	Fn string
	// ID is the caller, known to hold the right the function requires.
	ID access.Identity
	// Stub is the transaction's world state.
	Stub shim.ChaincodeStubInterface
}

// Submit runs transaction function fn: it requires right of the caller
// (the first check of every transaction function), then returns body's
// result as JSON, or its error through fail.
func Submit[T any](ctx contractapi.TransactionContextInterface, fn string, right access.Right, body func(c Call) (T, error)) (string, error) {
	return run(fn, func() (T, error) {
		id, err := access.Require(ctx.GetClientIdentity(), fn, right)
		if err != nil {
			var zero T
			return zero, err
		}
		return body(Call{Fn: fn, ID: id, Stub: ctx.GetStub()})
	})
}

// Read runs read-only transaction function fn: it requires access.Read of
// the caller, then returns what body reads from the world state, as JSON.
func Read[T any](ctx contractapi.TransactionContextInterface, fn string, body func(stub shim.ChaincodeStubInterface) (T, error)) (string, error) {
	return Submit(ctx, fn, access.Read, func(c Call) (T, error) { return body(c.Stub) })
}

// Query says which records a list transaction pages through: those of
// ObjectType whose key starts with Attrs, kept when Keep accepts them
// (nil keeps all).
type Query[T any] struct {
	ObjectType string
	Attrs      []string
	Keep       func(*T) bool
}

// List runs list transaction function fn: it requires access.Read,
// decodes filterJSON (a JSON F, "" = the zero F) and returns the page
// (wire.Page of T) of the records query(filter) selects, from bookmark.
func List[T, F any](ctx contractapi.TransactionContextInterface, fn, filterJSON string, pageSize int32, bookmark string, query func(f *F) Query[T]) (string, error) {
	return Read(ctx, fn, func(stub shim.ChaincodeStubInterface) (wire.Page[T], error) {
		f, err := wire.DecodeOptional[F](filterJSON, "filter")
		if err != nil {
			return wire.Page[T]{}, err
		}
		q := query(&f)
		return state.List(stub, q.ObjectType, q.Attrs, pageSize, bookmark, q.Keep)
	})
}

// History runs key-history transaction function fn: it requires
// access.Read, asks locate for the key of the record (locate fails with a
// *state.NotFoundError when the record does not exist) and returns a page
// (wire.Page of wire.HistoryEntry of T) of that key's history, newest
// first, from bookmark.
func History[T any](ctx contractapi.TransactionContextInterface, fn string, pageSize int32, bookmark string, locate func(stub shim.ChaincodeStubInterface) (string, error)) (string, error) {
	return Read(ctx, fn, func(stub shim.ChaincodeStubInterface) (wire.Page[wire.HistoryEntry[T]], error) {
		key, err := locate(stub)
		if err != nil {
			return wire.Page[wire.HistoryEntry[T]]{}, err
		}
		return state.History[T](stub, key, pageSize, bookmark)
	})
}

// Named returns the embedded contractapi.Contract of a contract registered
// under name (one of the wire.Contract* constants, so the gateway and the
// chaincode agree on it).
func Named(name string) contractapi.Contract {
	return contractapi.Contract{Name: name}
}
