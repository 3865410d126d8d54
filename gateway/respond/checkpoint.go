package respond

import (
	"encoding/json"
	"errors"
	"io/fs"
	"sync"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// FileCheckpoint is the responder's position in the chaincode event
// stream, kept in a file that a crash never tears. It has the methods of
// fabric-gateway's client.Checkpoint (BlockNumber, TransactionID,
// CheckpointTransaction) and the file format of its FileCheckpointer
// ({"blockNumber":N,"transactionId":"..."}), so existing files keep
// working; but where FileCheckpointer rewrites its file in place (a kill
// mid-write leaves a file that no longer parses and stops the responder at
// its next start), every position is written with durable.AtomicReplace:
// the file always holds the previous or the new position. It is safe for
// concurrent use.
type FileCheckpoint struct {
	fs   durable.FS
	path string

	mu    sync.Mutex
	state checkpointState
}

type checkpointState struct {
	BlockNumber   uint64 `json:"blockNumber"`
	TransactionID string `json:"transactionId"`
}

// OpenCheckpoint reads the checkpoint at path. An absent file is created
// durably at block 0 with no transaction, and an empty one reads as that
// position, so the first start has a file to fix its start block in. A
// file that does not parse is refused with a *durable.CorruptError. A nil
// fsys means the OS's.
func OpenCheckpoint(path string, fsys durable.FS) (*FileCheckpoint, error) {
	if fsys == nil {
		fsys = durable.OS{}
	}
	c := &FileCheckpoint{fs: fsys, path: path}
	b, err := fsys.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := c.save(c.state); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, &durable.Error{Op: "read", Path: path, Err: err}
	case len(b) > 0:
		if err := json.Unmarshal(b, &c.state); err != nil {
			return nil, &durable.CorruptError{Path: path, Reason: "not a checkpoint: " + err.Error()}
		}
	}
	return c, nil
}

// BlockNumber is the block of the next event to handle.
func (c *FileCheckpoint) BlockNumber() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.BlockNumber
}

// TransactionID is the last handled transaction in that block ("" for none).
func (c *FileCheckpoint) TransactionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.TransactionID
}

// CheckpointTransaction records the position durably before returning. On
// failure the checkpoint keeps its previous position, in memory and (but
// for a failed directory fsync after the rename) on disk.
func (c *FileCheckpoint) CheckpointTransaction(block uint64, txID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := checkpointState{BlockNumber: block, TransactionID: txID}
	if err := c.save(next); err != nil {
		return err
	}
	c.state = next
	return nil
}

func (c *FileCheckpoint) save(s checkpointState) error {
	data, _ := json.Marshal(s) // a uint64 and a string always encode
	return durable.AtomicReplace(c.fs, c.path, data)
}
