// Command chaincode is the ledgerguard chaincode: it registers every
// contract by name and serves them to the peer that launched it through the
// external builder in network/builders.
package main

import (
	"log"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/system"
)

func main() {
	cc, err := contractapi.NewChaincode(system.New())
	if err != nil {
		log.Fatalf("ledgerguard chaincode: create: %v", err)
	}
	cc.Info.Title = "ledgerguard"
	cc.Info.Version = system.Version
	if err := cc.Start(); err != nil {
		log.Fatalf("ledgerguard chaincode: start: %v", err)
	}
}
