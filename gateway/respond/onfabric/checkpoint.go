package onfabric

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// atomicCheckpointer is a checkpoint for fabric-gateway's event streams
// (it implements client.Checkpoint) that is never torn by a crash:
// fabric-gateway's FileCheckpointer rewrites its file in place, so a kill
// in the middle of a write can leave a file that no longer parses and stop
// the responder at its next start. This one writes a temporary file,
// fsyncs it, renames it over the checkpoint and fsyncs the folder, so the
// file always holds either the previous or the new position. The file
// format is FileCheckpointer's, so existing files keep working.
type atomicCheckpointer struct {
	path  string
	state checkpointState
}

type checkpointState struct {
	BlockNumber   uint64 `json:"blockNumber"`
	TransactionID string `json:"transactionId"`
}

// OpenCheckpointer reads the checkpoint at path, creating it when absent.
func OpenCheckpointer(path string) (*atomicCheckpointer, error) {
	c := &atomicCheckpointer{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return c, c.save()
	case err != nil:
		return nil, err
	case len(b) > 0:
		if err := json.Unmarshal(b, &c.state); err != nil {
			return nil, fmt.Errorf("checkpoint %s is not a checkpoint: %w", path, err)
		}
	}
	return c, nil
}

// BlockNumber is the block of the next event to handle.
func (c *atomicCheckpointer) BlockNumber() uint64 { return c.state.BlockNumber }

// TransactionID is the last handled transaction in that block ("" for none).
func (c *atomicCheckpointer) TransactionID() string { return c.state.TransactionID }

// CheckpointTransaction records the position durably before returning.
func (c *atomicCheckpointer) CheckpointTransaction(block uint64, txID string) error {
	prev := c.state
	c.state = checkpointState{BlockNumber: block, TransactionID: txID}
	if err := c.save(); err != nil {
		c.state = prev
		return err
	}
	return nil
}

func (c *atomicCheckpointer) save() error {
	data, err := json.Marshal(c.state)
	if err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(c.path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
