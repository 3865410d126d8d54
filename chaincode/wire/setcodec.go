package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
)

// Stored alert sets are DEFLATE-compressed JSON once they are large.
//
// Why: under load a RaiseAlerts transaction's block bytes are almost all
// its alert set (about 480 bytes of JSON per alert, 1000 alerts per
// transaction in the ingest bench), and every orderer and peer copies,
// unmarshals several times, hashes, replicates and stores every byte of
// a block: the profile of a peer under `scripts/bench.sh ingest` had
// runtime.memmove (protobuf unmarshalling of the transactions' byte
// fields) at a fifth of its CPU. Alert JSON (repeated keys, hex digests)
// shrinks to about a fifth with DEFLATE at BestSpeed, which costs the
// endorsers a few microseconds per alert. Small sets (analyst-scale
// traffic) stay plain JSON, readable in a block as before.
//
// Determinism: every endorser must write the same bytes, and a DEFLATE
// encoder's output is whatever its implementation chooses. The standard
// library's compress/flate is part of the Go release each peer builds
// the chaincode with, which members choose for themselves; so the
// compressor is github.com/klauspost/compress/flate (pure Go, well kept,
// the same format), vendored into the chaincode package every member
// approves, so its output is fixed by the approved source whatever Go
// release builds it (TestStoredAlertSetGolden pins the bytes).
const (
	// storedSetDeflate prefixes a compressed set; a JSON value never
	// starts with a NUL byte, so the two forms cannot be confused and sets
	// written before compression read as they are.
	storedSetDeflate = "\x00lgdf1"
	// storedSetCompressAbove is the JSON size above which a set is
	// compressed: below it the saving is a few hundred bytes at most.
	storedSetCompressAbove = 2048
	// MaxStoredAlertSetJSON bounds a decompressed set when it is read, so
	// a corrupt value cannot exhaust memory.
	MaxStoredAlertSetJSON = 64 << 20
	// MaxWrittenAlertSetJSON bounds a set's JSON when it is written, well
	// under MaxStoredAlertSetJSON: every set written must read back. Valid
	// alerts can still add up to more (MaxAlertsPerTx alerts of
	// MaxAlertFields fields of MaxFieldValueLen bytes, with JSON's
	// six-byte escapes, is about 200 MB): before compression the block
	// size limit refused such a transaction, and a small compressed value
	// would otherwise pass it and leave a set no reader can decode (and a
	// page of ListAlerts inflating hundreds of megabytes). The gateway's
	// alerts are about 500-700 bytes each: about 1.4 MB for a transaction
	// of MaxAlertsPerTx, the most the gateway sends (a large batch's).
	MaxWrittenAlertSetJSON = 16 << 20
)

// flateWriters keeps idle compressors: a flate.Writer allocates about
// 1 MB, and a sync.Pool, emptied at every garbage collection, made most
// RaiseAlerts transactions allocate and set up a new one. A few are kept
// (transactions run concurrently), the rest dropped.
var flateWriters = make(chan *flate.Writer, 4)

func getFlateWriter() *flate.Writer {
	select {
	case w := <-flateWriters:
		return w
	default:
	}
	w, err := flate.NewWriter(io.Discard, flate.BestSpeed)
	if err != nil {
		panic(err) // only for an invalid level
	}
	return w
}

func putFlateWriter(w *flate.Writer) {
	select {
	case flateWriters <- w:
	default:
	}
}

// EncodeStoredAlertSet returns the value a stored set is written as: its
// JSON, compressed (with a prefix) when larger than a couple of KiB. The
// result is deterministic for a given set (see the determinism note). A
// set whose JSON exceeds MaxWrittenAlertSetJSON is a *ValidationError.
func EncodeStoredAlertSet(s *AlertSet) ([]byte, error) {
	// The JSON is written into a kept buffer: it is only the compressor's
	// input (copied out when it is stored plain), and a new one for each
	// transaction (about 700 KB for 1,000 alerts) had to be zeroed and
	// collected on every endorser.
	buf := setJSONBufs.get()
	data, err := appendMarshalAlertSet(buf, s) // json.Marshal's bytes, faster
	if err != nil {
		return nil, err
	}
	defer setJSONBufs.put(data)
	if len(data) > MaxWrittenAlertSetJSON {
		return nil, &ValidationError{Field: "alerts", Reason: fmt.Sprintf("would make an alert set of %d bytes of JSON, over the limit of %d: raise fewer or smaller alerts per transaction", len(data), MaxWrittenAlertSetJSON)}
	}
	if len(data) <= storedSetCompressAbove {
		return bytes.Clone(data), nil
	}
	return deflate(storedSetDeflate, data)
}

// setJSONBufs keeps idle buffers for EncodeStoredAlertSet's JSON, as
// flateWriters keeps compressors (the gateway's largest set is about
// 1.4 MB of JSON).
var setJSONBufs = newBufPool()

// bufPool keeps a few idle byte buffers (transactions run concurrently)
// and drops the rest, and any larger than maxKeptBuf: unlike a sync.Pool
// it is not emptied by every garbage collection, which under load would
// leave most transactions allocating anew.
type bufPool chan []byte

const maxKeptBuf = 4 << 20

func newBufPool() bufPool { return make(bufPool, 4) }

// get returns an empty buffer, a kept one if there is one.
func (p bufPool) get() []byte {
	select {
	case b := <-p:
		return b[:0]
	default:
	}
	return make([]byte, 0, 64<<10)
}

// put keeps b for a later get, unless the pool is full or b is large. The
// caller must not use b (or anything sharing its memory) afterwards.
func (p bufPool) put(b []byte) {
	if cap(b) > maxKeptBuf {
		return
	}
	select {
	case p <- b[:0]:
	default:
	}
}

// deflate returns prefix followed by data compressed with DEFLATE at
// BestSpeed (a kept writer: see flateWriters).
func deflate(prefix string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(data)/4 + len(prefix) + 64)
	buf.WriteString(prefix)
	w := getFlateWriter()
	defer putFlateWriter(w)
	w.Reset(&buf)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// StoredAlertSetJSON returns the JSON of a stored set's value, written by
// EncodeStoredAlertSet or, before compression, as plain JSON (returned as
// is). A corrupt compressed value, or one that inflates beyond
// MaxStoredAlertSetJSON, is an error.
func StoredAlertSetJSON(v []byte) ([]byte, error) {
	if !bytes.HasPrefix(v, []byte(storedSetDeflate)) {
		return v, nil
	}
	r := flate.NewReader(bytes.NewReader(v[len(storedSetDeflate):]))
	defer r.Close()
	out := bytes.NewBuffer(make([]byte, 0, 5*len(v)))
	n, err := io.Copy(out, io.LimitReader(r, MaxStoredAlertSetJSON+1))
	if err != nil {
		return nil, fmt.Errorf("inflating stored alert set: %w", err)
	}
	if n > MaxStoredAlertSetJSON {
		return nil, fmt.Errorf("stored alert set inflates beyond %d bytes", MaxStoredAlertSetJSON)
	}
	return out.Bytes(), nil
}

// DecodeStoredAlertSet decodes a stored set's value (either form) into v,
// a *AlertSet or any struct reading a subset of its fields.
func DecodeStoredAlertSet(value []byte, v any) error {
	data, err := StoredAlertSetJSON(value)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
