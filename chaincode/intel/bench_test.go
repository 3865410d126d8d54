package intel_test

import (
	"fmt"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// BenchmarkShare1000 measures the chaincode's own work for one
// ShareIndicators of 1000 GREEN indicators on the in-memory ledger
// (decode, checks, keyed hashes, writes), without the peer.
func BenchmarkShare1000(b *testing.B) {
	e := &env{H: nil}
	t := &testing.T{}
	e = newEnv(t)
	for i := 0; i < b.N; i++ {
		inds := make([]wire.Indicator, 1000)
		vals := make([]wire.IndicatorValue, 1000)
		for j := range inds {
			inds[j], vals[j] = prepare("Org1MSP", wire.IndicatorDomain, fmt.Sprintf("d%d-%d.bench.example", i, j), wire.TLPGreen)
		}
		if _, _, err := e.share("Org1MSP", org1Intel, inds, vals); err != nil {
			b.Fatal(err)
		}
	}
}
