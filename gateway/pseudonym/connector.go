package pseudonym

import (
	"context"
	"errors"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

// UnmaskingConnector wraps a connector so that pseudonyms in an action's
// parameters are resolved back to the raw values this gateway recorded,
// just before the call leaves: connectors act on real users and
// addresses, the shared ledger never sees them. A pseudonym the vault
// does not know is passed on unchanged.
type UnmaskingConnector struct {
	inner connector.Connector
	vault *Vault
}

// Unmask wraps inner with vault's mappings.
func Unmask(inner connector.Connector, vault *Vault) UnmaskingConnector {
	return UnmaskingConnector{inner: inner, vault: vault}
}

func (u UnmaskingConnector) unmask(a wire.Action) wire.Action {
	params := make(map[string]string, len(a.Params))
	for k, v := range a.Params {
		if raw, ok := u.vault.Resolve(v); ok {
			v = raw
		}
		params[k] = v
	}
	return wire.Action{Type: a.Type, Params: params}
}

// Execute implements connector.Connector.
func (u UnmaskingConnector) Execute(ctx context.Context, a wire.Action, req connector.Request) (string, error) {
	return u.inner.Execute(ctx, u.unmask(a), req)
}

// Rollback forwards to the inner connector when it can roll back, and
// refuses (not retryable) when it cannot.
func (u UnmaskingConnector) Rollback(ctx context.Context, a wire.Action, req connector.Request) (string, error) {
	rb, ok := u.inner.(connector.RollbackConnector)
	if !ok {
		return "", &connector.Error{Retryable: false, Err: errors.New("this action has no rollback")}
	}
	return rb.Rollback(ctx, u.unmask(a), req)
}
