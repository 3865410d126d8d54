package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// coded wraps the contractapi chaincode so that every error response
// carries a wire.Code. Contracts encode their own refusals (wire.Encode),
// but contractapi refuses some requests before any contract runs (an
// unknown function, a wrong argument count, an argument that does not
// convert); those messages carry no code, and the gateway treats an
// uncoded refusal as Fabric's own transient failure. All of contractapi's
// own refusals are about the request's shape, so they become
// wire.CodeInvalid here, at the one place every response passes.
type coded struct {
	cc shim.Chaincode
}

// Init delegates to the wrapped chaincode and codes its error response.
func (c coded) Init(stub shim.ChaincodeStubInterface) *peer.Response {
	return codeResponse(c.cc.Init(stub))
}

// Invoke delegates to the wrapped chaincode and codes its error response.
func (c coded) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	return codeResponse(c.cc.Invoke(stub))
}

// codeResponse re-encodes an error response's message as a
// wire.CodeInvalid refusal when it carries no code; success responses and
// coded refusals pass through unchanged.
func codeResponse(r *peer.Response) *peer.Response {
	if r == nil || r.Status < shim.ERRORTHRESHOLD {
		return r
	}
	if _, ok := wire.ParseError(r.Message); ok {
		return r
	}
	return shim.Error((&wire.Error{Code: wire.CodeInvalid, Message: r.Message}).Error())
}

// The environment contractapi's ContractChaincode.Start reads to choose
// between chaincode-as-a-service (server mode) and the peer-launched shim;
// start reads the same variables the same way so that wrapping the
// chaincode does not change how it is run.
const (
	serverAddressVariable = "CHAINCODE_SERVER_ADDRESS"
	chaincodeIDVariable   = "CORE_CHAINCODE_ID_NAME"
	tlsEnabledVariable    = "CORE_PEER_TLS_ENABLED"
	rootCertVariable      = "CORE_PEER_TLS_ROOTCERT_FILE"
	clientKeyVariable     = "CORE_TLS_CLIENT_KEY_FILE"
	clientCertVariable    = "CORE_TLS_CLIENT_CERT_FILE"
)

// start serves cc as contractapi's ContractChaincode.Start would: as a
// chaincode server when both CHAINCODE_SERVER_ADDRESS and
// CORE_CHAINCODE_ID_NAME are set, through shim.Start otherwise.
func start(cc shim.Chaincode) error {
	address, ccid := os.Getenv(serverAddressVariable), os.Getenv(chaincodeIDVariable)
	if address == "" || ccid == "" {
		return shim.Start(cc)
	}
	tls, err := tlsProperties()
	if err != nil {
		return err
	}
	server := &shim.ChaincodeServer{CCID: ccid, Address: address, CC: cc, TLSProps: *tls}
	return server.Start()
}

// tlsProperties reads the server's TLS material as contractapi does: TLS
// is off unless CORE_PEER_TLS_ENABLED parses as true; the client CA
// certificate is optional.
func tlsProperties() (*shim.TLSProperties, error) {
	if enabled, err := strconv.ParseBool(os.Getenv(tlsEnabledVariable)); err != nil || !enabled {
		return &shim.TLSProperties{Disabled: true}, nil
	}
	key, err := os.ReadFile(os.Getenv(clientKeyVariable))
	if err != nil {
		return nil, fmt.Errorf("read TLS key: %w", err)
	}
	cert, err := os.ReadFile(os.Getenv(clientCertVariable))
	if err != nil {
		return nil, fmt.Errorf("read TLS certificate: %w", err)
	}
	var root []byte
	if path := os.Getenv(rootCertVariable); path != "" {
		if root, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read TLS client CA: %w", err)
		}
	}
	return &shim.TLSProperties{Key: key, Cert: cert, ClientCACerts: root}, nil
}
