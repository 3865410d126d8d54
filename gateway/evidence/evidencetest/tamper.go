package evidencetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/gateway/evidence"
)

// The tampering operations below edit a bundle in place, the way someone
// with write access to the file (but no private key) could. Indexes are
// batch (bi) and event (ei) positions in the bundle; out-of-range indexes
// panic, as befits test helpers.

// Clone returns a deep copy of a bundle (through its encoding).
func Clone(b *evidence.Bundle) (*evidence.Bundle, error) {
	var buf bytes.Buffer
	if err := b.Write(&buf, false); err != nil {
		return nil, err
	}
	return evidence.ReadBundle(&buf)
}

// editJSON rewrites one field of an event's canonical JSON.
func editJSON(canonical []byte, field string, value any) ([]byte, error) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(canonical))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	m[field] = value
	return json.Marshal(m)
}

// ModifyEvent changes the host of event ei of batch bi, keeping its seq,
// id and proof.
func ModifyEvent(b *evidence.Bundle, bi, ei int) error {
	ev := &b.Batches[bi].Events[ei]
	c, err := editJSON(ev.Canonical, "host", "tampered.example")
	if err != nil {
		return err
	}
	ev.Canonical = c
	return nil
}

// ModifiedCopy writes a copy of the gzipped bundle file at path, with
// ModifyEvent applied to event ei of batch bi, as dir/tampered.jsonl.gz
// and returns that path: the file a test hands a command that must refuse
// it.
func ModifiedCopy(path, dir string, bi, ei int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	b, err := evidence.ReadBundle(f)
	f.Close()
	if err != nil {
		return "", err
	}
	if err := ModifyEvent(b, bi, ei); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := b.Write(&buf, true); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "tampered.jsonl.gz")
	return out, os.WriteFile(out, buf.Bytes(), 0o644)
}

// RemoveEvent deletes event ei of batch bi and returns it.
func RemoveEvent(b *evidence.Bundle, bi, ei int) evidence.EventRecord {
	s := &b.Batches[bi]
	ev := s.Events[ei]
	s.Events = append(s.Events[:ei:ei], s.Events[ei+1:]...)
	return ev
}

// InsertEvent inserts a fabricated event before event ei of batch bi: a
// copy of it with another id and host, at the same seq with the same proof
// (the best an attacker without the log can do). It returns the new id.
func InsertEvent(b *evidence.Bundle, bi, ei int) (string, error) {
	s := &b.Batches[bi]
	fake := s.Events[ei]
	fake.ID = "f00d" + fake.ID[4:]
	c, err := editJSON(fake.Canonical, "id", fake.ID)
	if err != nil {
		return "", err
	}
	if fake.Canonical, err = editJSON(c, "host", "fabricated.example"); err != nil {
		return "", err
	}
	s.Events = append(s.Events[:ei:ei], append([]evidence.EventRecord{fake}, s.Events[ei:]...)...)
	return fake.ID, nil
}

// SwapEventLines swaps the lines of events i and j of batch bi: each keeps
// its seq and proof, the bundle order changes.
func SwapEventLines(b *evidence.Bundle, bi, i, j int) {
	ev := b.Batches[bi].Events
	ev[i], ev[j] = ev[j], ev[i]
}

// SwapEventBytes swaps the ids and canonical bytes of events i and j of
// batch bi, leaving seqs and proofs in place: the events trade positions.
func SwapEventBytes(b *evidence.Bundle, bi, i, j int) {
	ev := b.Batches[bi].Events
	ev[i].ID, ev[j].ID = ev[j].ID, ev[i].ID
	ev[i].Canonical, ev[j].Canonical = ev[j].Canonical, ev[i].Canonical
}

// AlterRoot changes the last hex digit of batch bi's root.
func AlterRoot(b *evidence.Bundle, bi int) {
	r := []byte(b.Batches[bi].Batch.RootHash)
	if r[len(r)-1] == '0' {
		r[len(r)-1] = '1'
	} else {
		r[len(r)-1] = '0'
	}
	b.Batches[bi].Batch.RootHash = string(r)
}

// SwapTransaction replaces batch bi's anchoring transaction with batch bj's.
func SwapTransaction(b *evidence.Bundle, bi, bj int) {
	b.Batches[bi].Transaction = b.Batches[bj].Transaction
}

// AlterEndorsementSignature flips a bit in the last byte of endorsement k
// of batch bi's transaction.
func AlterEndorsementSignature(b *evidence.Bundle, bi, k int) error {
	return editEndorsements(b, bi, func(ends []*peer.Endorsement) ([]*peer.Endorsement, error) {
		if k >= len(ends) {
			return nil, fmt.Errorf("transaction has %d endorsements", len(ends))
		}
		sig := bytes.Clone(ends[k].Signature)
		sig[len(sig)-1] ^= 1
		ends[k].Signature = sig
		return ends, nil
	})
}

// StripEndorsement removes endorsement k of batch bi's transaction.
func StripEndorsement(b *evidence.Bundle, bi, k int) error {
	return editEndorsements(b, bi, func(ends []*peer.Endorsement) ([]*peer.Endorsement, error) {
		if k >= len(ends) {
			return nil, fmt.Errorf("transaction has %d endorsements", len(ends))
		}
		return append(ends[:k:k], ends[k+1:]...), nil
	})
}

// editEndorsements decodes batch bi's envelope down to its endorsements,
// applies f and re-encodes every layer (the creator's signature is left as
// it was, since an attacker cannot redo it).
func editEndorsements(b *evidence.Bundle, bi int, f func([]*peer.Endorsement) ([]*peer.Endorsement, error)) error {
	t := &b.Batches[bi].Transaction
	env := &common.Envelope{}
	payload := &common.Payload{}
	tx := &peer.Transaction{}
	ccap := &peer.ChaincodeActionPayload{}
	if err := proto.Unmarshal(t.Envelope, env); err != nil {
		return err
	}
	if err := proto.Unmarshal(env.Payload, payload); err != nil {
		return err
	}
	if err := proto.Unmarshal(payload.Data, tx); err != nil {
		return err
	}
	if err := proto.Unmarshal(tx.Actions[0].Payload, ccap); err != nil {
		return err
	}
	ends, err := f(ccap.Action.Endorsements)
	if err != nil {
		return err
	}
	ccap.Action.Endorsements = ends
	steps := []struct {
		dst *[]byte
		msg proto.Message
	}{{&tx.Actions[0].Payload, ccap}, {&payload.Data, tx}, {&env.Payload, payload}, {&t.Envelope, env}}
	for _, s := range steps {
		out, err := proto.Marshal(s.msg)
		if err != nil {
			return err
		}
		*s.dst = out
	}
	return nil
}
