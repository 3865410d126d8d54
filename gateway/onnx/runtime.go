// Package onnx is the gateway's ONNX Runtime adapter: it loads model
// directories (model.onnx + manifest.json), verifies them, and scores
// events through the shared feature engine (gateway/features) and one ONNX
// Runtime session per model, micro-batched.
//
// Guarantees:
//   - A model is never served unless its model.onnx hashes to the
//     manifest's sha256, its feature spec compiles, and the session's real
//     input and output names and shapes match the manifest (Open fails with
//     a typed *ModelError otherwise).
//   - The runtime library is loaded once per process from a configurable
//     path; a missing or wrong library is a *LibraryError at start-up, not a
//     crash at the first event.
//   - One session per model is shared by all callers, with one intra-op
//     thread (measured best on small hosts); concurrent calls are merged
//     into batches of at most MaxBatch rows, waiting at most MaxWait for a
//     batch to fill, and every caller gets exactly its own rows' results in
//     order. Tree ensembles run in chunks of at most TreeChunk rows.
//   - A cascade (a manifest with a screen, see ScreenSpec) runs two
//     verified graphs: every row the screen is not confident about gets
//     exactly the full graph's probabilities; the others the screen's.
//     Both graphs' sha256s are checked, and the screen spec is part of
//     what a strict gateway checks against the ledger (provenance).
//   - DetectLeaves (Model and Registry) answers exactly what Detect
//     answers for the leaves' events, reading the features from the
//     leaves' canonical bytes.
//   - A Registry swaps a reloaded model atomically: a Detect call uses one
//     model version throughout, and a replaced model is closed only after
//     its in-flight calls have returned.
package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// EnvLibrary is the environment variable that overrides the library path.
const EnvLibrary = "LEDGERGUARD_ORT_LIB"

// DefaultLibrary is where `make setup` installs the ONNX Runtime shared
// library, relative to the repository root.
const DefaultLibrary = "bin/onnxruntime/libonnxruntime.so.1"

// ErrLibrary is the sentinel wrapped by every library loading failure.
var ErrLibrary = errors.New("onnx runtime library")

// ErrNotSharedLibrary says the file at the library path is not an ELF
// shared object.
var ErrNotSharedLibrary = errors.New("not an ELF shared library")

// LibraryError reports why the ONNX Runtime library could not be loaded.
type LibraryError struct {
	Path string
	Err  error
}

func (e *LibraryError) Error() string {
	return fmt.Sprintf("%v %s: %v (run `make setup`, which installs ONNX Runtime 1.24.1 there, or set %s)", ErrLibrary, e.Path, e.Err, EnvLibrary)
}

// Unwrap returns the cause; errors.Is(err, ErrLibrary) holds too.
func (e *LibraryError) Unwrap() []error { return []error{ErrLibrary, e.Err} }

var rt struct {
	sync.Mutex
	path string
}

// LibraryPath returns the library path to use: $LEDGERGUARD_ORT_LIB when
// set, else DefaultLibrary under root.
func LibraryPath(root string) string {
	if p := os.Getenv(EnvLibrary); p != "" {
		return p
	}
	return filepath.Join(root, DefaultLibrary)
}

// Init loads the ONNX Runtime shared library at path and creates the
// process-wide environment. It is idempotent for the same path; a second
// call with another path after a successful one fails (ONNX Runtime has one
// environment per process). The file is checked before ONNX Runtime sees
// it, so a missing or non-library file fails cleanly and Init may be
// retried with another path.
func Init(path string) error {
	rt.Lock()
	defer rt.Unlock()
	abs, err := filepath.Abs(path)
	if err != nil {
		return &LibraryError{path, err}
	}
	if rt.path != "" {
		if rt.path == abs {
			return nil
		}
		return &LibraryError{path, fmt.Errorf("already initialised from %s", rt.path)}
	}
	f, err := os.Open(abs)
	if err != nil {
		return &LibraryError{path, err}
	}
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	f.Close()
	if err != nil || !bytes.Equal(magic[:], []byte("\x7fELF")) {
		return &LibraryError{path, ErrNotSharedLibrary}
	}
	ort.SetSharedLibraryPath(abs)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return &LibraryError{path, err}
	}
	rt.path = abs
	return nil
}

// Version returns the loaded ONNX Runtime's version ("" before Init).
func Version() string {
	rt.Lock()
	defer rt.Unlock()
	if rt.path == "" {
		return ""
	}
	return ort.GetVersion()
}
