package evidence

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the bundle decoder: it must neither
// panic nor loop, and whatever decodes whole must survive an encode/decode
// round trip unchanged. The committed corpus (testdata/fuzz/FuzzDecode)
// holds a small valid bundle, a gzipped one and malformed variants.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"header":{"version":1,"channel":"c","chaincode":"cc","gateway_msp":"Org1MSP","gateway_id":"g","query":{},"orgs":null,"batches":1,"events":1}}` + "\n" +
		`{"batch":{"batch":{"id":"x","tree_size_before":0,"tree_size_after":1},"prefix":[],"transaction":{"tx_id":"t","block":1,"validation_code":0,"envelope":"CgA="}}}` + "\n" +
		`{"event":{"seq":0,"id":"e","canonical":"e30=","proof":{"leaf_index":0,"tree_size":1,"hashes":[]}}}` + "\n"))
	f.Add([]byte(`{"header":{"version":2}}`))
	f.Add([]byte(`{"header":{"version":1}}` + "\n" + `{"batch":{},"event":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBundle(bytes.NewReader(data))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ReadBundle: error %v is neither a *DecodeError nor ErrCorrupt", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := b.Write(&buf, false); err != nil {
			t.Fatalf("Write: %v", err)
		}
		again, err := ReadBundle(&buf)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		// Times lose their monotonic/location detail through JSON only in
		// representation, so compare the re-encoded bytes instead.
		var buf2 bytes.Buffer
		if err := again.Write(&buf2, false); err != nil {
			t.Fatal(err)
		}
		var first bytes.Buffer
		_ = b.Write(&first, false)
		if !bytes.Equal(first.Bytes(), buf2.Bytes()) {
			t.Fatalf("round trip changed the bundle:\n%s\n%s", first.Bytes(), buf2.Bytes())
		}
	})
}

// FuzzVerify checks Verify never panics and reports only decode or read
// errors, whatever the bytes (the decoder, protobuf parsing of envelopes,
// certificate parsing and proof checks all see attacker-controlled input).
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"header":{"version":1,"gateway_msp":"Org1MSP","gateway_id":"g","orgs":[{"msp_id":"Org1MSP","root_certs":["x"]}]}}` + "\n" +
		`{"batch":{"batch":{"id":"x","gateway_msp":"Org1MSP","gateway_id":"g","tree_size_before":0,"tree_size_after":1,"root_hash":"00","first_seq":0,"last_seq":0},"prefix":[],"transaction":{"tx_id":"t","envelope":"CgA="}}}` + "\n" +
		`{"event":{"seq":0,"id":"e","canonical":"e30=","proof":{"leaf_index":0,"tree_size":1,"hashes":[]}}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Verify(context.Background(), bytes.NewReader(data))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Verify: unexpected error %v", err)
			}
			return
		}
		if rep == nil || (rep.OK() && rep.Batches == 0) {
			t.Fatalf("Verify of a bundle without batches reported OK: %+v", rep)
		}
	})
}
