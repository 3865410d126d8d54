// Package pyenv finds the pinned Python tools (test/python/requirements.txt:
// the OASIS taxii2-client, stix2-validator) that scripts/setup.sh installs
// into .cache/pyenv, for Go tests that run them as third-party checkers.
// A missing environment fails the test with the command that installs it:
// a conformance check that silently skips proves nothing.
package pyenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns this folder (test/python): its scripts and requirements.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Venv returns the virtual environment's folder (<repo>/.cache/pyenv).
func Venv() string { return filepath.Join(Dir(), "..", "..", ".cache", "pyenv") }

// Tool returns the path of an executable of the environment ("python",
// "stix2_validator"), failing t when it is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Venv(), "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not installed (%v): run scripts/setup.sh, which installs test/python/requirements.txt into .cache/pyenv", name, err)
	}
	return p
}

// Run runs a tool with args and returns its stdout; a non-zero exit fails
// t with the tool's stderr.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(Tool(t, name), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s", name, args, err, out.Bytes(), errb.Bytes())
	}
	return out.Bytes()
}

// Script returns the path of a script of this folder.
func Script(name string) string { return filepath.Join(Dir(), name) }
