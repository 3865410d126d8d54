package ingesttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ledgerguard/ledgerguard/test/replay"
)

// KDDBody returns a body of n NDJSON envelopes made of real NSL-KDD rows
// (KDDTest+ under DataDir, skipping when it is absent) as `make bench`
// sends them: each row's envelope marshalled by encoding/json (names
// sorted), with a 12-digit "bench.r" nonce in the record and the host
// cycling over 16 sensors; one line in a hundred is a neptune attack.
func KDDBody(tb testing.TB, n int) []byte {
	tb.Helper()
	dir := DataDir(tb)
	root := repoRoot(tb)
	var normal, attack [][]byte
	err := replay.NSLKDD(context.Background(), root, dir, func(label string, env map[string]any) bool {
		ev, _ := env["event"].(map[string]any)
		if ev == nil {
			return true
		}
		ev["bench.r"] = fmt.Sprintf("%012d", len(normal)+len(attack))
		env["host"] = fmt.Sprintf("sensor-%02d", len(normal)%16)
		line, err := json.Marshal(env)
		if err != nil {
			tb.Fatal(err)
		}
		switch {
		case label == "normal" && len(normal) < n:
			normal = append(normal, line)
		case label == "neptune" && len(attack) < n/100+1:
			attack = append(attack, line)
		}
		return len(normal) < n || len(attack) < n/100+1
	})
	if err != nil {
		tb.Fatalf("NSL-KDD rows: %v", err)
	}
	if len(normal) == 0 || len(attack) == 0 {
		tb.Fatalf("NSL-KDD rows: %d normal and %d neptune rows in the data; the body needs both", len(normal), len(attack))
	}
	var b bytes.Buffer
	for i := range n {
		line := normal[i%len(normal)]
		if i%100 == 99 {
			line = attack[(i/100)%len(attack)]
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
