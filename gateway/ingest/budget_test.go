package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

func TestDecodeEstimateBytes(t *testing.T) {
	const maxInt64 = 1<<63 - 1
	tests := []struct {
		name string
		est  DecodeEstimate
		want int64
	}{
		{"zero", DecodeEstimate{}, 0},
		{"body counts twice", DecodeEstimate{Body: 10}, 20},
		{"records and values", DecodeEstimate{Records: 2, Values: 3}, 2*recordCost + 3*valueCost},
		{"raw", DecodeEstimate{Raw: 7}, 7},
		{"negative ignored", DecodeEstimate{Body: -5, Raw: 1}, 1},
		{"saturates", DecodeEstimate{Records: maxInt64 / 2, Values: maxInt64 / 2}, maxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.est.Bytes(); got != tt.want {
				t.Errorf("Bytes() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCheckDecodeAndDepth(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want gateway.Code
	}{
		{"budget within", Limits{MaxDecodeBytes: 100}.CheckDecode("t", DecodeEstimate{Raw: 100}), ""},
		{"budget over", Limits{MaxDecodeBytes: 100}.CheckDecode("t", DecodeEstimate{Raw: 101}), gateway.CodeTooLarge},
		{"budget default", Limits{}.CheckDecode("t", DecodeEstimate{Raw: DefaultMaxDecodeBytes + 1}), gateway.CodeTooLarge},
		{"depth within", Limits{MaxDepth: 3}.CheckDepth("t", 3, 0), ""},
		{"depth over", Limits{MaxDepth: 3}.CheckDepth("t", 4, 0), gateway.CodeTooLarge},
		{"depth default", Limits{}.CheckDepth("t", DefaultMaxDepth+1, -1), gateway.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gateway.ErrorCode(tt.err); got != tt.want {
				t.Errorf("code = %q, want %q (%v)", got, tt.want, tt.err)
			}
			var ie *Error
			if tt.err != nil && !errors.As(tt.err, &ie) {
				t.Errorf("%T is not an *Error", tt.err)
			}
		})
	}
}

func TestDecodersWeighBodies(t *testing.T) {
	d := NewDecoders(Limits{MaxConcurrentDecodes: 1, MaxBodyBytes: 1 << 20, DecodeWait: 20 * time.Millisecond})
	ctx := context.Background()
	// Sixteen small requests share the budget of one maximum-size body...
	var small []func()
	for range 16 {
		r, err := d.Acquire(ctx, 10<<10)
		if err != nil {
			t.Fatalf("small request %d: %v", len(small), err)
		}
		small = append(small, r)
	}
	if got, want := d.InUse(), 16; got != want {
		t.Fatalf("InUse = %d, want %d", got, want)
	}
	// ...and leave no room for a maximum-size one until they are done.
	if _, err := d.Acquire(ctx, 1<<20); gateway.ErrorCode(err) != gateway.CodeBusy {
		t.Fatalf("large request beside 16 small ones: %v, want busy", err)
	}
	for _, r := range small {
		r()
	}
	r, err := d.Acquire(ctx, 1<<20)
	if err != nil {
		t.Fatalf("large request alone: %v", err)
	}
	r()
}

func TestDecodersBoundConcurrency(t *testing.T) {
	d := NewDecoders(Limits{MaxConcurrentDecodes: 2, DecodeWait: 20 * time.Millisecond})
	ctx := context.Background()
	r1, err := d.Acquire(ctx, DefaultMaxBodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := d.Acquire(ctx, DefaultMaxBodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.InUse(), 2; got != want {
		t.Fatalf("InUse = %d, want %d", got, want)
	}
	_, err = d.Acquire(ctx, DefaultMaxBodyBytes)
	var be *BusyError
	if !errors.As(err, &be) || gateway.ErrorCode(err) != gateway.CodeBusy || be.Slots != 2 {
		t.Fatalf("third Acquire: %v, want a BusyError of 2 slots", err)
	}
	r1()
	r1() // a second release is a no-op, not a slot given back twice
	if got, want := d.InUse(), 1; got != want {
		t.Fatalf("InUse after release = %d, want %d", got, want)
	}
	// A waiter gets the slot freed while it waits.
	d = NewDecoders(Limits{MaxConcurrentDecodes: 1, DecodeWait: 5 * time.Second})
	hold, _ := d.Acquire(ctx, DefaultMaxBodyBytes)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(10 * time.Millisecond)
		hold()
	}()
	r, err := d.Acquire(ctx, DefaultMaxBodyBytes)
	if err != nil {
		t.Fatalf("waiting Acquire: %v", err)
	}
	r()
	wg.Wait()
	// A cancelled request stops waiting.
	hold, _ = d.Acquire(ctx, DefaultMaxBodyBytes)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Acquire(cctx, DefaultMaxBodyBytes); gateway.ErrorCode(err) != gateway.CodeBusy {
		t.Errorf("cancelled Acquire: %v, want busy", err)
	}
	hold()
	r2()
}

func TestReadBodySizesGzipFromTrailer(t *testing.T) {
	plain := bytes.Repeat([]byte("ledgerguard "), 100_000)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	tests := []struct {
		name string
		max  int64
		want gateway.Code
	}{
		{"fits", int64(len(plain)), ""},
		{"one byte over", int64(len(plain)) - 1, gateway.CodeTooLarge},
		{"compressed alone over", int64(z.Len()) / 4, gateway.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBody(bytes.NewReader(z.Bytes()), "gzip", tt.max)
			if code := gateway.ErrorCode(err); code != tt.want {
				t.Fatalf("code = %q, want %q (%v)", code, tt.want, err)
			}
			if err == nil && !bytes.Equal(got, plain) {
				t.Errorf("decoded %d bytes, want the %d sent", len(got), len(plain))
			}
		})
	}
	if got, want := gzipSizeHint(z.Bytes(), 1<<30), int64(len(plain)); got != want {
		t.Errorf("gzipSizeHint = %d, want %d", got, want)
	}
	if got, want := gzipSizeHint(z.Bytes(), 10), int64(11); got != want {
		t.Errorf("gzipSizeHint capped = %d, want %d", got, want)
	}
}

func TestCountJSONTokens(t *testing.T) {
	tests := []struct {
		body string
		want int64
	}{
		{``, 0},
		{`{}`, 1},
		{`{"a":1}`, 3},
		{`{"a":"x,y:{[","b":[true,null,-1.5e3]}`, 8},
		{"{\"event\":\"a\"}\n{\"event\":\"b\"}\n", 6},
		{`[{},{},{}]`, 4},
		{`"unterminated \"`, 1},
		{`x`, 1},
		{`{"a\\":"b\\\"c\\\\"}`, 3},
		{`"\\\\\"`, 1},
		{`1"2"{3[4]`, 6},
	}
	for _, tt := range tests {
		if got := CountJSONTokens([]byte(tt.body)); got != tt.want {
			t.Errorf("CountJSONTokens(%q) = %d, want %d", tt.body, got, tt.want)
		}
	}
}

// FuzzCountJSONTokens: the count is within the body's length and equal
// to the byte-by-byte scan's (countJSONTokensRef).
func FuzzCountJSONTokens(f *testing.F) {
	f.Add([]byte(`{"a":"x,y:{[","b":[true,null,-1.5e3]}`))
	f.Add([]byte(`"\`))
	f.Add([]byte(`{"a\\":"\\\"x","b\"":[1,"\\"]}` + "\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got := CountJSONTokens(body)
		if got < 0 || got > int64(len(body)) {
			t.Fatalf("CountJSONTokens = %d for %d bytes", got, len(body))
		}
		if want := countJSONTokensRef(body); got != want {
			t.Fatalf("CountJSONTokens(%q) = %d, the byte-by-byte scan %d", body, got, want)
		}
	})
}

// countJSONTokensRef is the byte-by-byte scan CountJSONTokens replaced,
// kept as its reference.
func countJSONTokensRef(body []byte) int64 {
	var n int64
	for i := 0; i < len(body); {
		switch c := body[i]; c {
		case ' ', '\t', '\r', '\n', ',', ':', ']', '}':
			i++
		case '{', '[':
			n++
			i++
		case '"':
			n++
			i++
			for i < len(body) && body[i] != '"' {
				if body[i] == '\\' {
					i++
				}
				i++
			}
			i++
		default:
			n++
			for i < len(body) {
				switch body[i] {
				case ' ', '\t', '\r', '\n', ',', ':', '[', ']', '{', '}', '"':
				default:
					i++
					continue
				}
				break
			}
		}
	}
	return n
}

func TestDecodersMaxDecodingBytes(t *testing.T) {
	tests := []struct {
		name    string
		limits  Limits
		weights []int64 // acquired in order, none released
		wantOK  int     // how many are granted before the first busy
	}{
		{"default: slots of maximum bodies", Limits{MaxConcurrentDecodes: 2, MaxBodyBytes: 1 << 20}, []int64{1 << 20, 1 << 20, 1 << 20}, 2},
		{"bytes bound below the default", Limits{MaxConcurrentDecodes: 1, MaxBodyBytes: 64 << 20, MaxDecodingBytes: 40 << 20}, []int64{17 << 20, 17 << 20, 17 << 20}, 2},
		{"a request above the budget is admitted alone", Limits{MaxConcurrentDecodes: 4, MaxDecodingBytes: 40 << 20}, []int64{1 << 30, 1}, 1},
		{"at least MinDecodeWeight per slot", Limits{MaxConcurrentDecodes: 2, MaxDecodingBytes: 1}, []int64{1, 1, 1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.limits.DecodeWait = 10 * time.Millisecond
			d := NewDecoders(tt.limits)
			got := 0
			for _, w := range tt.weights {
				if _, err := d.Acquire(context.Background(), w); err != nil {
					if gateway.ErrorCode(err) != gateway.CodeBusy {
						t.Fatalf("Acquire(%d): %v, want busy", w, err)
					}
					break
				}
				got++
			}
			if got != tt.wantOK {
				t.Errorf("granted %d of %v (capacity %d), want %d", got, tt.weights, d.Capacity(), tt.wantOK)
			}
		})
	}
}

// BenchmarkCountJSONTokens compares CountJSONTokens with the byte-by-byte
// scan it replaced on 1,000 NDJSON lines of 41-field flow records (the
// ingest bench's shape), in process CPU per body.
func BenchmarkCountJSONTokens(b *testing.B) {
	var one strings.Builder
	one.WriteString(`{"event":{"bench.r":"000000000000","event.category":"network","kdd.flag":"SF","kdd.protocol_type":"tcp","kdd.service":"http"`)
	for i := range 37 {
		fmt.Fprintf(&one, `,"kdd.feature_%02d":%d.%02d`, i, i*37, i)
	}
	one.WriteString(`},"host":"sensor-01","sourcetype":"nsl-kdd"}` + "\n")
	body := []byte(strings.Repeat(one.String(), 1000))
	for _, bc := range []struct {
		name  string
		count func([]byte) int64
	}{{"bytewise", countJSONTokensRef}, {"table", CountJSONTokens}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			rate := ingesttest.Rate(b)
			for b.Loop() {
				bc.count(body)
			}
			rate(1000)
		})
	}
}
