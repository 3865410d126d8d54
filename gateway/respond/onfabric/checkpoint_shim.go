package onfabric

import "github.com/ledgerguard/ledgerguard/gateway/respond"

// TEMPORARY bridge so this package builds until onfabric.go is deleted by
// the ledger-client change (issue 9): the checkpoint now lives in
// respond.FileCheckpoint. Delete this file together with onfabric.go.
type atomicCheckpointer = respond.FileCheckpoint

func openCheckpointer(path string) (*atomicCheckpointer, error) {
	return respond.OpenCheckpoint(path, nil)
}
