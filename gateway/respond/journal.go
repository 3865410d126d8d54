package respond

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// The journal is the responder's memory of executions in flight: a
// durable.Journal of JSON records, each appended and fsynced before the
// responder goes on, so after a crash the journal holds every record the
// responder acted upon. On open, a torn last record is cut off (the write
// never completed, so nothing acted upon it), damage before valid records
// is refused (*durable.CorruptError), and the file is rewritten without
// the executions already recorded on the ledger. Following pebble's rule,
// a failed write or fsync is fatal: the journal refuses every later call
// (ErrJournal), because after a failed fsync the kernel may have dropped
// the dirty pages and a retry would report success for data that is not
// on disk. A journal written before the durable format (frames without
// the durable.Magic header) is read once and rewritten in the new format.

// ErrJournal marks a journal write or fsync failure; the responder stops.
var ErrJournal = errors.New("respond journal")

// journal record operations.
const (
	opStarted  = "started"
	opFinished = "finished"
	opRecorded = "recorded"
)

type record struct {
	Key    string `json:"k"`
	Op     string `json:"op"`
	Action int    `json:"i,omitempty"`
	OK     bool   `json:"ok,omitempty"`
	Detail string `json:"d,omitempty"`
	Status string `json:"s,omitempty"`
}

// actionResult is what one action's execution ended with.
type actionResult struct {
	OK     bool
	Detail string
}

// execution is the journal's view of one execution key (a response id
// with "|run" or "|rollback").
type execution struct {
	Started  map[int]bool
	Finished map[int]actionResult
}

// Journal is the responder's durable record of started and finished
// actions. It is safe for concurrent use, and concurrent appends share
// fsyncs (group commit): each returns only once its record is durable,
// but the records that arrive while one fsync runs are written together
// with the next, so the workers' journal writes do not queue one fsync
// each behind a single lock.
type Journal struct {
	mu       sync.Mutex
	j        *durable.Journal
	live     map[string]*execution
	appended int
	// pending are the appends waiting for the next write; writing says
	// an append is leading a write (the others wait for it).
	pending []*journalWrite
	writing bool
}

// journalWrite is one append waiting for its group commit; done receives
// its result, or errLead when it is to lead the next write.
type journalWrite struct {
	rec     record
	payload []byte
	done    chan error
}

// errLead hands the lead of the next group commit to a waiting append.
var errLead = errors.New("lead the next journal write")

// compactAfter is how many appended records trigger a rewrite (when most
// of them belong to recorded executions).
const compactAfter = 4096

// OpenJournal opens (creating if needed) the journal at path, keeps the
// executions not yet recorded on the ledger and rewrites the file with
// only those. A nil fsys means the OS's.
func OpenJournal(path string, fsys durable.FS) (*Journal, error) {
	j := &Journal{live: map[string]*execution{}}
	dj, err := durable.OpenOrConvert(fsys, path, j.replay, convertLegacy)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJournal, err)
	}
	j.j = dj
	if err := j.rewrite(); err != nil {
		_ = dj.Close()
		return nil, err
	}
	return j, nil
}

func (j *Journal) replay(payload []byte) error {
	var r record
	if err := json.Unmarshal(payload, &r); err != nil {
		// The frame's checksum held, so this is not a torn write.
		return fmt.Errorf("record is not JSON: %w", err)
	}
	j.apply(r)
	return nil
}

// convertLegacy turns a journal of the format before durable's (frames
// of uint32 LE length ‖ uint32 LE CRC-32C of the payload ‖ payload, no
// header; the first damaged frame ended it) into the records of its live
// executions.
func convertLegacy(data []byte) ([][]byte, error) {
	old := &Journal{live: map[string]*execution{}}
	for len(data) >= 8 {
		n := binary.LittleEndian.Uint32(data[0:4])
		if uint64(n) > uint64(len(data)-8) {
			break
		}
		payload := data[8 : 8+n]
		if crc32.Checksum(payload, legacyCRC) != binary.LittleEndian.Uint32(data[4:8]) {
			break
		}
		var r record
		if json.Unmarshal(payload, &r) != nil {
			break
		}
		old.apply(r)
		data = data[8+n:]
	}
	return old.records(), nil
}

var legacyCRC = crc32.MakeTable(crc32.Castagnoli)

func (j *Journal) apply(r record) {
	if r.Op == opRecorded {
		delete(j.live, r.Key)
		return
	}
	e := j.live[r.Key]
	if e == nil {
		e = &execution{Started: map[int]bool{}, Finished: map[int]actionResult{}}
		j.live[r.Key] = e
	}
	switch r.Op {
	case opStarted:
		e.Started[r.Action] = true
	case opFinished:
		e.Finished[r.Action] = actionResult{OK: r.OK, Detail: r.Detail}
	}
}

// records returns the live executions as journal records.
func (j *Journal) records() [][]byte {
	var out [][]byte
	for key, e := range j.live {
		for i := range e.Started {
			out = append(out, encode(record{Key: key, Op: opStarted, Action: i}))
		}
		for i, res := range e.Finished {
			out = append(out, encode(record{Key: key, Op: opFinished, Action: i, OK: res.OK, Detail: res.Detail}))
		}
	}
	return out
}

// rewrite replaces the file, atomically, with the live executions only.
func (j *Journal) rewrite() error {
	if err := j.j.Rewrite(j.records()); err != nil {
		return fmt.Errorf("%w: %w", ErrJournal, err)
	}
	j.appended = 0
	return nil
}

func encode(r record) []byte {
	payload, _ := json.Marshal(r) // a struct of strings, ints and bools always encodes
	return payload
}

// append writes and fsyncs one record, then applies it. Appends that
// arrive while a write is in progress wait; when it ends, the first of
// them leads one write of all of them (one fsync), and tells the others
// its result.
func (j *Journal) append(r record) error {
	w := &journalWrite{rec: r, payload: encode(r), done: make(chan error, 1)}
	j.mu.Lock()
	j.pending = append(j.pending, w)
	if j.writing {
		j.mu.Unlock()
		if err := <-w.done; err != errLead {
			return err
		}
		j.mu.Lock()
	}
	j.writing = true
	batch := j.pending
	j.pending = nil
	j.mu.Unlock()

	payloads := make([][]byte, len(batch))
	for i, b := range batch {
		payloads[i] = b.payload
	}
	err := j.j.Append(payloads...)

	j.mu.Lock()
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrJournal, err)
	} else {
		// Applied only once durable: what Get reports is on disk.
		for _, b := range batch {
			j.apply(b.rec)
		}
		j.appended += len(batch)
		if j.appended >= compactAfter && j.appended > 4*len(j.live) {
			err = j.rewrite()
		}
	}
	if len(j.pending) > 0 {
		j.pending[0].done <- errLead
	} else {
		j.writing = false
	}
	j.mu.Unlock()
	for _, b := range batch {
		if b != w {
			b.done <- err
		}
	}
	return err
}

// Get returns a copy of what the journal knows of key, and whether it
// knows anything.
func (j *Journal) Get(key string) (execution, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.live[key]
	if !ok {
		return execution{Started: map[int]bool{}, Finished: map[int]actionResult{}}, false
	}
	c := execution{Started: make(map[int]bool, len(e.Started)), Finished: make(map[int]actionResult, len(e.Finished))}
	for k, v := range e.Started {
		c.Started[k] = v
	}
	for k, v := range e.Finished {
		c.Finished[k] = v
	}
	return c, true
}

// Started records that action i of key is about to be called.
func (j *Journal) Started(key string, i int) error {
	return j.append(record{Key: key, Op: opStarted, Action: i})
}

// Finished records how action i of key ended.
func (j *Journal) Finished(key string, i int, res actionResult) error {
	return j.append(record{Key: key, Op: opFinished, Action: i, OK: res.OK, Detail: res.Detail})
}

// Recorded records that key's outcome is on the ledger; the journal then
// forgets key.
func (j *Journal) Recorded(key, status string) error {
	return j.append(record{Key: key, Op: opRecorded, Status: status})
}

// Len returns the number of executions not yet recorded on the ledger.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.live)
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.j.Close()
}
