package evidence

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Version is the bundle format version this package writes and reads.
const Version = 1

// MaxLineBytes bounds one line of a bundle (one event with its proof): a
// decoder refuses longer lines rather than buffer without limit.
const MaxLineBytes = 64 << 20

// Header is the first line of a bundle: what it covers and whom to trust.
type Header struct {
	Version    int       `json:"version"`
	Created    time.Time `json:"created"`
	Channel    string    `json:"channel"`
	Chaincode  string    `json:"chaincode"`
	GatewayMSP string    `json:"gateway_msp"`
	GatewayID  string    `json:"gateway_id"`
	Query      Query     `json:"query"`
	// Orgs are the channel's application organisations, from its
	// configuration block.
	Orgs []OrgMSP `json:"orgs"`
	// Batches and Events count the records that follow. They are a claim of
	// the exporter used only to show progress; the verifier counts itself.
	Batches int `json:"batches"`
	Events  int `json:"events"`
}

// Query records what the exporter was asked for: a time range or event ids.
type Query struct {
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	EventIDs []string  `json:"event_ids,omitempty"`
}

// OrgMSP is one application organisation's MSP as the channel configuration
// records it: its CA certificates (PEM) and, when it uses NodeOUs, the
// organisational unit that marks its peers.
type OrgMSP struct {
	MSPID             string   `json:"msp_id"`
	RootCerts         []string `json:"root_certs"`
	IntermediateCerts []string `json:"intermediate_certs,omitempty"`
	PeerOU            string   `json:"peer_ou,omitempty"`
}

// Transaction is a batch's anchoring transaction as committed on the
// ledger: the envelope bytes exactly as in the block, the block number and
// the validation code the committing peer recorded (0 is VALID).
type Transaction struct {
	TxID           string `json:"tx_id"`
	Block          uint64 `json:"block"`
	ValidationCode int32  `json:"validation_code"`
	Envelope       []byte `json:"envelope"`
}

// BatchRecord is one exported batch. The events of the batch follow it.
type BatchRecord struct {
	Batch gateway.Batch `json:"batch"`
	// Prefix is the compact range of the tree before the batch, [0,
	// TreeSizeBefore): the perfect-subtree hashes, largest first, that let a
	// verifier recompute the batch's root from its leaves alone.
	Prefix []string `json:"prefix"`
	// Consistency proves the previous exported batch's tree is a prefix of
	// this one's; nil for the first batch of a bundle.
	Consistency *gateway.ConsistencyProof `json:"consistency,omitempty"`
	Transaction Transaction               `json:"transaction"`
}

// EventRecord is one event of the preceding batch: its id and seq (its leaf
// index), its stored canonical bytes, and its inclusion proof against the
// batch's root.
type EventRecord struct {
	Seq       uint64                 `json:"seq"`
	ID        string                 `json:"id"`
	Canonical []byte                 `json:"canonical"`
	Proof     gateway.InclusionProof `json:"proof"`
}

// line is one JSON line: exactly one of its fields is set.
type line struct {
	Header *Header      `json:"header,omitempty"`
	Batch  *BatchRecord `json:"batch,omitempty"`
	Event  *EventRecord `json:"event,omitempty"`
}

// DecodeError reports a bundle line that cannot be decoded. A Decoder can
// continue after one: lines are independent.
type DecodeError struct {
	Line int
	Err  error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("evidence: bundle line %d: %v", e.Line, e.Err)
}
func (e *DecodeError) Unwrap() error { return e.Err }

// ErrCorrupt is the cause of a read error inside a compressed bundle (a
// corrupt or truncated gzip stream): unlike a malformed line, nothing after
// it can be read.
var ErrCorrupt = errors.New("corrupt compressed bundle")

// ErrVersion is the cause of a DecodeError for a header of another version.
var ErrVersion = errors.New("unsupported bundle version")

// Encoder writes a bundle: NewEncoder writes the header, then Batch and
// Event calls write records in order (each batch followed by its events),
// and Close flushes. Each record is one line of JSON, {"header":{...}},
// {"batch":{...}} or {"event":{...}}; byte strings are base64.
type Encoder struct {
	w   *bufio.Writer
	gz  *gzip.Writer
	err error
}

// NewEncoder writes h (its Version is set) as the first line of a bundle to
// w, gzip-compressed when gz is true.
func NewEncoder(w io.Writer, h Header, gz bool) (*Encoder, error) {
	e := &Encoder{}
	if gz {
		e.gz = gzip.NewWriter(w)
		w = e.gz
	}
	e.w = bufio.NewWriterSize(w, 1<<16)
	h.Version = Version
	return e, e.write(line{Header: &h})
}

// Batch writes a batch record.
func (e *Encoder) Batch(b BatchRecord) error { return e.write(line{Batch: &b}) }

// Event writes an event record of the last batch written.
func (e *Encoder) Event(ev EventRecord) error { return e.write(line{Event: &ev}) }

func (e *Encoder) write(l line) error {
	if e.err != nil {
		return e.err
	}
	b, err := json.Marshal(l)
	if err != nil {
		e.err = fmt.Errorf("evidence: encode: %w", err)
		return e.err
	}
	b = append(b, '\n')
	if _, err := e.w.Write(b); err != nil {
		e.err = fmt.Errorf("evidence: write: %w", err)
	}
	return e.err
}

// Close flushes the bundle (and ends the gzip stream); it does not close
// the underlying writer.
func (e *Encoder) Close() error {
	if e.err != nil {
		return e.err
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("evidence: write: %w", err)
	}
	if e.gz != nil {
		if err := e.gz.Close(); err != nil {
			return fmt.Errorf("evidence: write: %w", err)
		}
	}
	return nil
}

// Decoder reads a bundle record by record, so a verifier holds one batch at
// a time. It accepts plain or gzip-compressed bundles (sniffed from the
// first bytes).
type Decoder struct {
	r      *bufio.Reader
	gz     bool
	line   int
	header Header
}

// Record is one decoded record after the header: a batch or an event, with
// the line it came from (1-based).
type Record struct {
	Line  int
	Batch *BatchRecord
	Event *EventRecord
}

// NewDecoder reads the header line. It returns a *DecodeError if the first
// line is not a header of this Version.
func NewDecoder(r io.Reader) (*Decoder, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	gzipped := false
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gzipped = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &DecodeError{Line: 1, Err: err}
		}
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	d := &Decoder{r: br, gz: gzipped}
	raw, err := d.readLine()
	if err == io.EOF {
		return nil, &DecodeError{Line: 1, Err: errors.New("empty bundle")}
	}
	if err != nil {
		return nil, err
	}
	var l line
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, &DecodeError{Line: 1, Err: err}
	}
	if l.Header == nil || l.Batch != nil || l.Event != nil {
		return nil, &DecodeError{Line: 1, Err: errors.New("first line is not a header")}
	}
	if l.Header.Version != Version {
		return nil, &DecodeError{Line: 1, Err: fmt.Errorf("%w %d (this verifier reads %d)", ErrVersion, l.Header.Version, Version)}
	}
	d.header = *l.Header
	return d, nil
}

// Header returns the bundle's header.
func (d *Decoder) Header() Header { return d.header }

// Next returns the next record, io.EOF after the last one, a *DecodeError
// for a line that is not exactly one batch or event record (the next call
// continues with the following line), or a read error.
func (d *Decoder) Next() (Record, error) {
	for {
		raw, err := d.readLine()
		if err != nil {
			return Record{}, err
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // tolerate blank lines, e.g. a trailing newline added by an editor
		}
		var l line
		if err := json.Unmarshal(raw, &l); err != nil {
			return Record{}, &DecodeError{Line: d.line, Err: err}
		}
		switch {
		case l.Batch != nil && l.Event == nil && l.Header == nil:
			return Record{Line: d.line, Batch: l.Batch}, nil
		case l.Event != nil && l.Batch == nil && l.Header == nil:
			return Record{Line: d.line, Event: l.Event}, nil
		default:
			return Record{}, &DecodeError{Line: d.line, Err: errors.New("line must hold exactly one batch or event record")}
		}
	}
}

// readLine returns the next line without its newline, io.EOF at the end.
func (d *Decoder) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineBytes {
			d.line++
			// Skip the rest of the line so the caller can continue after it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = d.r.ReadSlice('\n')
			}
			return nil, &DecodeError{Line: d.line, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			d.line++
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) > 0:
			d.line++
			return buf, nil
		case err == io.EOF:
			return nil, io.EOF
		case d.gz:
			return nil, fmt.Errorf("evidence: read bundle line %d: %w: %w", d.line+1, ErrCorrupt, err)
		default:
			return nil, fmt.Errorf("evidence: read bundle: %w", err)
		}
	}
}

// Bundle is a whole bundle in memory: convenient for small bundles, tests
// and tools that edit one; Verify streams instead.
type Bundle struct {
	Header  Header
	Batches []BatchSection
}

// BatchSection is a batch record with its events in bundle order.
type BatchSection struct {
	BatchRecord
	Events []EventRecord
}

// ReadBundle decodes a whole bundle. Unlike Verify it stops at the first
// malformed line, and it refuses events before the first batch.
func ReadBundle(r io.Reader) (*Bundle, error) {
	d, err := NewDecoder(r)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Header: d.Header()}
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		if rec.Batch != nil {
			b.Batches = append(b.Batches, BatchSection{BatchRecord: *rec.Batch})
			continue
		}
		if len(b.Batches) == 0 {
			return nil, &DecodeError{Line: rec.Line, Err: errors.New("event before any batch")}
		}
		last := &b.Batches[len(b.Batches)-1]
		last.Events = append(last.Events, *rec.Event)
	}
}

// Write encodes the bundle to w, gzip-compressed when gz is true.
func (b *Bundle) Write(w io.Writer, gz bool) error {
	enc, err := NewEncoder(w, b.Header, gz)
	if err != nil {
		return err
	}
	for _, s := range b.Batches {
		if err := enc.Batch(s.BatchRecord); err != nil {
			return err
		}
		for _, ev := range s.Events {
			if err := enc.Event(ev); err != nil {
				return err
			}
		}
	}
	return enc.Close()
}
