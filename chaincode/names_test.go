package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// untyped lists the transaction functions the gateway never calls, so
// wire/names.go holds no constant for them.
var untyped = map[string][]string{wire.ContractSystem: {"GetVersion"}}

// TestNames reads every contract and transaction constant of
// wire/names.go and checks it against the metadata contractapi builds from
// the registered contracts: every Contract* constant names a registered
// contract, every Tx* constant of a group "Transaction names of the X
// contract" is a transaction of contract X, and every transaction has a
// constant (but those in untyped). A rename on either side fails here, not
// in the gateway at run time.
func TestNames(t *testing.T) {
	contracts, txs := namesFile(t)
	registered := metadata(t)

	var got []string
	for name := range registered {
		if name != "org.hyperledger.fabric" {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(maps.Values(contracts))
	if !slices.Equal(got, want) {
		t.Errorf("registered contracts %v, wire's Contract* constants %v", got, want)
	}
	for contract, consts := range txs {
		fns, ok := registered[contract]
		if !ok {
			t.Errorf("wire names transactions of contract %q, which is not registered", contract)
			continue
		}
		for ident, fn := range consts {
			if !slices.Contains(fns, fn) {
				t.Errorf("wire.%s = %q is not a transaction of contract %q (it has %v)", ident, fn, contract, fns)
			}
		}
	}
	for contract, fns := range registered {
		if contract == "org.hyperledger.fabric" {
			continue
		}
		for _, fn := range fns {
			if !slices.Contains(slices.Collect(maps.Values(txs[contract])), fn) && !slices.Contains(untyped[contract], fn) {
				t.Errorf("transaction %s:%s has no constant in wire/names.go", contract, fn)
			}
		}
	}
}

var groupDoc = regexp.MustCompile(`^Transaction names of the (\w+) contract\.`)

// namesFile parses wire/names.go: the Contract* constants (identifier →
// value) and the Tx* constants by contract name (identifier → value).
func namesFile(t *testing.T) (contracts map[string]string, txs map[string]map[string]string) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "wire/names.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatalf("parse wire/names.go: %v", err)
	}
	contracts, txs = map[string]string{}, map[string]map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		group := ""
		if m := groupDoc.FindStringSubmatch(strings.TrimSpace(g.Doc.Text())); m != nil {
			group = m[1]
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("wire.%s is not a string literal", id.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatalf("wire.%s: %v", id.Name, err)
				}
				switch {
				case strings.HasPrefix(id.Name, "Contract"):
					contracts[id.Name] = v
				case strings.HasPrefix(id.Name, "Tx"):
					if group == "" {
						t.Fatalf("wire.%s is not in a group documented \"Transaction names of the X contract.\"", id.Name)
					}
					if txs[group] == nil {
						txs[group] = map[string]string{}
					}
					txs[group][id.Name] = v
				}
			}
		}
	}
	if len(contracts) == 0 || len(txs) == 0 {
		t.Fatalf("found %d contract and %d transaction groups in wire/names.go", len(contracts), len(txs))
	}
	return contracts, txs
}

// metadata returns each registered contract's transaction names, as
// contractapi reports them to clients (org.hyperledger.fabric:GetMetadata).
func metadata(t *testing.T) map[string][]string {
	t.Helper()
	cc, err := newChaincode()
	if err != nil {
		t.Fatalf("newChaincode: %v", err)
	}
	tx := ledgertest.New().Begin(ledgertest.Role("Org1MSP", "audit1", "auditor"))
	defer tx.Discard()
	tx.SetArgs("org.hyperledger.fabric:GetMetadata")
	resp := cc.Invoke(tx)
	if resp.Status != 200 {
		t.Fatalf("GetMetadata: %d %s", resp.Status, resp.Message)
	}
	var md struct {
		Contracts map[string]struct {
			Transactions []struct {
				Name string `json:"name"`
			} `json:"transactions"`
		} `json:"contracts"`
	}
	if err := json.Unmarshal(resp.Payload, &md); err != nil {
		t.Fatalf("decode metadata: %v", err)
	}
	out := map[string][]string{}
	for name, c := range md.Contracts {
		for _, tx := range c.Transactions {
			out[name] = append(out[name], tx.Name)
		}
	}
	return out
}
