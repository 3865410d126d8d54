package gateway

import "testing"

func TestBatchID(t *testing.T) {
	for _, tc := range []struct {
		name          string
		msp, gw       string
		before, after uint64
		root          string
		want          string
	}{
		// Vectors computed independently (Python hashlib) from the encoding
		// chaincode/wire documents; the chaincode recomputes the same.
		{"first batch", "Org1MSP", "gw-1", 0, 10000, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"c295aa849918a87c1132be1df96f1deade807e120075ab691d9484d5c1866795"},
		{"largest sizes", "Org2MSP", "edge-7", 1<<64 - 2, 1<<64 - 1, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			"511b08c6a5f3c965f059e9d3344df96f5243079379a3981dbe6d0e09e914d0c5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := BatchID(tc.msp, tc.gw, tc.before, tc.after, tc.root); got != tc.want {
				t.Errorf("BatchID = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBatchIDSeparatesFields(t *testing.T) {
	if BatchID("ab", "c", 1, 2, "r") == BatchID("a", "bc", 1, 2, "r") {
		t.Error("moving a byte between fields must change the id")
	}
	if BatchID("m", "g", 1, 23, "r") == BatchID("m", "g", 12, 3, "r") {
		t.Error("moving a digit between sizes must change the id")
	}
}
