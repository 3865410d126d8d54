// Package system is the chaincode's "system" contract: liveness and version
// queries that deploy scripts and clients use to see that the chaincode
// answers. It reads and writes no state other than what each function names.
package system

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
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
	c.Name = "system"
	c.Info.Version = Version
	return c
}

// Ping answers "pong" and the caller's MSP ID; it proves the chaincode is
// running and reachable without touching the world state.
func (c *Contract) Ping(ctx contractapi.TransactionContextInterface) (string, error) {
	msp, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return "", fmt.Errorf("read caller MSP ID: %w", err)
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
		return nil, fmt.Errorf("heartbeat note is %d bytes, at most %d allowed", len(note), maxNoteLen)
	}
	stub := ctx.GetStub()
	msp, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return nil, fmt.Errorf("read caller MSP ID: %w", err)
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return nil, fmt.Errorf("read transaction timestamp: %w", err)
	}
	hb := Heartbeat{MSPID: msp, TxID: stub.GetTxID(), Time: ts.AsTime().UTC(), Note: note}
	key, err := stub.CreateCompositeKey("system.heartbeat", []string{msp, hb.TxID})
	if err != nil {
		return nil, fmt.Errorf("heartbeat key: %w", err)
	}
	b, err := json.Marshal(hb)
	if err != nil {
		return nil, fmt.Errorf("encode heartbeat: %w", err)
	}
	if err := stub.PutState(key, b); err != nil {
		return nil, fmt.Errorf("write heartbeat %s: %w", hb.TxID, err)
	}
	return &hb, nil
}

// GetHeartbeat returns the heartbeat an organisation wrote in a transaction.
func (c *Contract) GetHeartbeat(ctx contractapi.TransactionContextInterface, mspID, txID string) (*Heartbeat, error) {
	key, err := ctx.GetStub().CreateCompositeKey("system.heartbeat", []string{mspID, txID})
	if err != nil {
		return nil, fmt.Errorf("heartbeat key: %w", err)
	}
	b, err := ctx.GetStub().GetState(key)
	if err != nil {
		return nil, fmt.Errorf("read heartbeat %s/%s: %w", mspID, txID, err)
	}
	if b == nil {
		return nil, fmt.Errorf("no heartbeat %s/%s", mspID, txID)
	}
	var hb Heartbeat
	if err := json.Unmarshal(b, &hb); err != nil {
		return nil, fmt.Errorf("decode heartbeat %s/%s: %w", mspID, txID, err)
	}
	return &hb, nil
}
