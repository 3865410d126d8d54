package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"

	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

// benchEnvelope is the shape the NDJSON and HEC parsers decode each line
// into: a few typed members and the event as a generic value.
type benchEnvelope struct {
	Time       json.RawMessage `json:"time"`
	Sourcetype *string         `json:"sourcetype"`
	Host       *string         `json:"host"`
	Event      any             `json:"event"`
	Fields     map[string]any  `json:"fields"`
}

// benchLines are two typical events: a 41-field NSL-KDD flow row as the
// benchmarks replay it, and a 10-field Zeek conn record.
func benchLines() map[string][]byte {
	var kdd bytes.Buffer
	kdd.WriteString(`{"sourcetype":"nsl-kdd","host":"sensor-01","event":{"event.category":"network","kdd.protocol_type":"tcp","kdd.service":"http","kdd.flag":"SF"`)
	for i := range 38 {
		fmt.Fprintf(&kdd, `,"kdd.feature_%02d":%d.%02d`, i, i*37, i)
	}
	kdd.WriteString(`}}`)
	return map[string][]byte{
		"kdd41":  kdd.Bytes(),
		"zeek10": []byte(`{"sourcetype":"zeek:conn","host":"sensor-02","time":1732550400.123,"event":{"ts":1732550400.123,"uid":"C8x1Yw3bQm","id.orig_h":"10.1.2.3","id.orig_p":51234,"id.resp_h":"203.0.113.9","id.resp_p":443,"proto":"tcp","service":"ssl","duration":1.25,"orig_bytes":5123}}`),
	}
}

// BenchmarkDecoders compares the JSON decoders the ingest parsers could
// use on one envelope line with numbers kept as json.Number (the stored
// canonical form depends on it). See the package doc for the result.
func BenchmarkDecoders(b *testing.B) {
	sonicAPI := sonic.Config{UseNumber: true, ValidateString: true}.Froze()
	for name, line := range benchLines() {
		b.Run(name+"/encoding_json", func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				var env benchEnvelope
				if err := DecodeStrict(line, &env); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding_json_unmarshal", func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				var env benchEnvelope
				d := json.NewDecoder(bytes.NewReader(line))
				d.UseNumber()
				if err := d.Decode(&env); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/sonic", func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				var env benchEnvelope
				if err := sonicAPI.Unmarshal(line, &env); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/ingest_decoder", func(b *testing.B) {
			// Decoder also writes the event object's canonical encoding.
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			var d Decoder
			for b.Loop() {
				if _, ok := d.Members(line); !ok {
					b.Fatal("not decoded")
				}
			}
		})
		b.Run(name+"/ingest_decoder_map_free", func(b *testing.B) {
			// The map-free mode: canonical encoding and the record's
			// member list only (the Zeek record would then be decoded
			// again with maps: normalize recognises it).
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			var d Decoder
			for b.Loop() {
				if _, ok := d.MembersShallow(line, nil); !ok {
					b.Fatal("not decoded")
				}
			}
		})
		b.Run(name+"/goccy", func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				var env benchEnvelope
				d := gojson.NewDecoder(bytes.NewReader(line))
				d.UseNumber()
				if err := d.Decode(&env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKDDShallow is the map-free decode alone (MembersShallow, as
// NDJSON calls it) of each line of a body of real NSL-KDD rows
// (ingesttest.KDDBody); skipped without the shared data.
func BenchmarkKDDShallow(b *testing.B) {
	body := ingesttest.KDDBody(b, 1000)
	lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	var d Decoder
	for b.Loop() {
		for _, line := range lines {
			if _, ok := d.MembersShallow(line, nil); !ok {
				b.Fatal("not decoded")
			}
		}
	}
	rate(len(lines))
}
