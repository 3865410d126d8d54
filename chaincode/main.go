// Command chaincode is the ledgerguard chaincode: it registers every
// contract by name and serves them to the peer that launched it through the
// external builder in network/builders.
package main

import (
	"log"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/alerts"
	"github.com/ledgerguard/ledgerguard/chaincode/consortium"
	"github.com/ledgerguard/ledgerguard/chaincode/events"
	"github.com/ledgerguard/ledgerguard/chaincode/hygiene"
	"github.com/ledgerguard/ledgerguard/chaincode/intel"
	"github.com/ledgerguard/ledgerguard/chaincode/models"
	"github.com/ledgerguard/ledgerguard/chaincode/policies"
	"github.com/ledgerguard/ledgerguard/chaincode/responses"
	"github.com/ledgerguard/ledgerguard/chaincode/system"
)

// newChaincode builds the chaincode with every contract registered; main
// and the registration test share it.
func newChaincode() (*contractapi.ContractChaincode, error) {
	cc, err := contractapi.NewChaincode(system.New(), consortium.New(), events.New(), alerts.New(), policies.New(), responses.New(), models.New(), hygiene.New(), intel.New())
	if err != nil {
		return nil, err
	}
	cc.Info.Title = "ledgerguard"
	cc.Info.Version = system.Version
	return cc, nil
}

func main() {
	servePprof()
	cc, err := newChaincode()
	if err != nil {
		log.Fatalf("ledgerguard chaincode: create: %v", err)
	}
	if err := start(coded{cc: cc}); err != nil {
		log.Fatalf("ledgerguard chaincode: start: %v", err)
	}
}
