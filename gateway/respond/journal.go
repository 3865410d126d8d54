package respond

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// The journal is the responder's memory of executions in flight. Each
// record is framed as
//
//	uint32 little-endian payload length ‖ uint32 CRC-32C of the payload ‖ JSON payload
//
// and appended with one write followed by fsync before the responder goes
// on, so after a crash the journal holds every record the responder acted
// upon. On open, a damaged or torn record and everything after it are
// dropped (the write never completed, so nothing acted upon it), and the
// file is rewritten without the executions already recorded on the
// ledger. Following pebble's rule, a failed write or fsync is fatal: the
// journal refuses every later call (ErrJournal), because after a failed
// fsync the kernel may have dropped the dirty pages and a retry would
// report success for data that is not on disk.

// ErrJournal marks a journal write or fsync failure; the responder stops.
var ErrJournal = errors.New("respond journal")

// FS is the file-system surface the journal uses, so tests can make writes
// and fsyncs fail.
type FS interface {
	ReadFile(name string) ([]byte, error)
	// Create truncates or creates name for writing.
	Create(name string) (File, error)
	// OpenAppend opens name for appending, creating it if needed.
	OpenAppend(name string) (File, error)
	Rename(oldName, newName string) error
	// SyncDir fsyncs a directory so a rename in it is durable.
	SyncDir(dir string) error
}

// File is a writable file.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// OSFS is the operating system's file system.
type OSFS struct{}

// ReadFile implements FS.
func (OSFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Create implements FS.
func (OSFS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

// OpenAppend implements FS.
func (OSFS) OpenAppend(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
}

// Rename implements FS.
func (OSFS) Rename(oldName, newName string) error { return os.Rename(oldName, newName) }

// SyncDir implements FS.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

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
// actions. It is safe for concurrent use.
type Journal struct {
	mu       sync.Mutex
	fs       FS
	path     string
	f        File
	live     map[string]*execution
	appended int
	broken   error
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// compactAfter is how many appended records trigger a rewrite (when most
// of them belong to recorded executions).
const compactAfter = 4096

// OpenJournal opens (creating if needed) the journal at path, keeps the
// executions not yet recorded on the ledger and rewrites the file with
// only those.
func OpenJournal(path string, fsys FS) (*Journal, error) {
	if fsys == nil {
		fsys = OSFS{}
	}
	data, err := fsys.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: read %s: %w", ErrJournal, path, err)
	}
	j := &Journal{fs: fsys, path: path, live: map[string]*execution{}}
	for len(data) >= 8 {
		n := binary.LittleEndian.Uint32(data[0:4])
		sum := binary.LittleEndian.Uint32(data[4:8])
		if uint64(n) > uint64(len(data)-8) {
			break // torn tail
		}
		payload := data[8 : 8+n]
		if crc32.Checksum(payload, crcTable) != sum {
			break // damaged: nothing after it can be trusted
		}
		var r record
		if json.Unmarshal(payload, &r) != nil {
			break
		}
		j.apply(r)
		data = data[8+n:]
	}
	if err := j.rewrite(); err != nil {
		return nil, err
	}
	return j, nil
}

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

// rewrite writes the live executions to a temporary file, fsyncs it,
// renames it over the journal, fsyncs the folder, and reopens for append.
func (j *Journal) rewrite() error {
	if j.f != nil {
		if err := j.f.Close(); err != nil {
			return j.fail(fmt.Errorf("close: %w", err))
		}
		j.f = nil
	}
	tmp := j.path + ".tmp"
	f, err := j.fs.Create(tmp)
	if err != nil {
		return j.fail(fmt.Errorf("create %s: %w", tmp, err))
	}
	var buf []byte
	for key, e := range j.live {
		for i := range e.Started {
			buf = appendFrame(buf, record{Key: key, Op: opStarted, Action: i})
		}
		for i, res := range e.Finished {
			buf = appendFrame(buf, record{Key: key, Op: opFinished, Action: i, OK: res.OK, Detail: res.Detail})
		}
	}
	if _, err := f.Write(buf); err != nil {
		_ = f.Close()
		return j.fail(fmt.Errorf("write %s: %w", tmp, err))
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return j.fail(fmt.Errorf("fsync %s: %w", tmp, err))
	}
	if err := f.Close(); err != nil {
		return j.fail(fmt.Errorf("close %s: %w", tmp, err))
	}
	if err := j.fs.Rename(tmp, j.path); err != nil {
		return j.fail(fmt.Errorf("rename: %w", err))
	}
	if err := j.fs.SyncDir(filepath.Dir(j.path)); err != nil {
		return j.fail(fmt.Errorf("fsync folder: %w", err))
	}
	if j.f, err = j.fs.OpenAppend(j.path); err != nil {
		return j.fail(fmt.Errorf("open %s: %w", j.path, err))
	}
	j.appended = 0
	return nil
}

func appendFrame(buf []byte, r record) []byte {
	payload, _ := json.Marshal(r) // a struct of strings, ints and bools always encodes
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payload)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(payload, crcTable))
	return append(buf, payload...)
}

func (j *Journal) fail(err error) error {
	j.broken = fmt.Errorf("%w: %w", ErrJournal, err)
	return j.broken
}

// append writes and fsyncs one record, then applies it.
func (j *Journal) append(r record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return j.broken
	}
	if _, err := j.f.Write(appendFrame(nil, r)); err != nil {
		return j.fail(fmt.Errorf("write: %w", err))
	}
	if err := j.f.Sync(); err != nil {
		return j.fail(fmt.Errorf("fsync: %w", err))
	}
	j.apply(r)
	j.appended++
	if j.appended >= compactAfter && j.appended > 4*len(j.live) {
		return j.rewrite()
	}
	return nil
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
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
