// Package system is the chaincode's "system" contract: liveness and version
// queries that deploy scripts and clients use to see that the chaincode
// answers. It reads and writes no state other than what each function names.
// Every refusal is a *wire.Error carrying its code, like the other
// contracts' refusals.
package system

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Version is the chaincode build's version; deploy scripts stamp the
// definition's version independently, so this one identifies the source.
const Version = "0.1.0"

// Contract is the system contract, registered under the name "system".
type Contract struct {
	contractapi.Contract
}

// New returns the system contract with its name set.
func New() *Contract {
	c := &Contract{}
	c.Name = wire.ContractSystem
	c.Info.Version = Version
	return c
}

// Ping answers "pong" and the caller's MSP ID; it proves the chaincode is
// running and reachable without touching the world state.
func (c *Contract) Ping(ctx contractapi.TransactionContextInterface) (string, error) {
	msp, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return "", refuse(wire.CodeDenied, "read caller MSP ID: %v", err)
	}
	return "pong " + msp, nil
}

// GetVersion returns the chaincode source version.
func (c *Contract) GetVersion() string {
	return Version
}

// Heartbeat is one liveness record an organisation wrote to the ledger.
type Heartbeat struct {
	MSPID string    `json:"msp_id"`
	TxID  string    `json:"tx_id"`
	Time  time.Time `json:"time"`
	Note  string    `json:"note"`
}

// maxNoteLen bounds what a heartbeat may store.
const maxNoteLen = 256

// Heartbeat records that the caller's organisation can write to the ledger.
// Each call writes its own key (organisation, transaction id), so heartbeats
// never conflict with each other; the time is the transaction's timestamp.
func (c *Contract) Heartbeat(ctx contractapi.TransactionContextInterface, note string) (*Heartbeat, error) {
	if len(note) > maxNoteLen {
		return nil, refuse(wire.CodeInvalid, "heartbeat note is %d bytes, at most %d allowed", len(note), maxNoteLen)
	}
	stub := ctx.GetStub()
	msp, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return nil, refuse(wire.CodeDenied, "read caller MSP ID: %v", err)
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return nil, refuse(wire.CodeInternal, "read transaction timestamp: %v", err)
	}
	hb := Heartbeat{MSPID: msp, TxID: stub.GetTxID(), Time: ts.AsTime().UTC(), Note: note}
	key, err := stub.CreateCompositeKey("system.heartbeat", []string{msp, hb.TxID})
	if err != nil {
		return nil, refuse(wire.CodeInvalid, "heartbeat key: %v", err)
	}
	b, err := json.Marshal(hb)
	if err != nil {
		return nil, refuse(wire.CodeInternal, "encode heartbeat: %v", err)
	}
	if err := stub.PutState(key, b); err != nil {
		return nil, refuse(wire.CodeUnavailable, "write heartbeat %s: %v", hb.TxID, err)
	}
	return &hb, nil
}

// GetHeartbeat returns the heartbeat an organisation wrote in a transaction.
func (c *Contract) GetHeartbeat(ctx contractapi.TransactionContextInterface, mspID, txID string) (*Heartbeat, error) {
	key, err := ctx.GetStub().CreateCompositeKey("system.heartbeat", []string{mspID, txID})
	if err != nil {
		return nil, refuse(wire.CodeInvalid, "heartbeat key: %v", err)
	}
	b, err := ctx.GetStub().GetState(key)
	if err != nil {
		return nil, refuse(wire.CodeUnavailable, "read heartbeat %s/%s: %v", mspID, txID, err)
	}
	if b == nil {
		return nil, refuse(wire.CodeNotFound, "no heartbeat %s/%s", mspID, txID)
	}
	var hb Heartbeat
	if err := json.Unmarshal(b, &hb); err != nil {
		return nil, refuse(wire.CodeInternal, "decode heartbeat %s/%s: %v", mspID, txID, err)
	}
	return &hb, nil
}

// refuse builds a refusal with its code; the message is what this
// contract has always returned.
func refuse(code wire.Code, format string, args ...any) error {
	return &wire.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
