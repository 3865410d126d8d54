package pseudonym

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/durable/faultfs"
)

var testKey = []byte("0123456789abcdef0123")

func TestVaultRecordsAndResolvesAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pseudonyms.jsonl")
	v, err := OpenVault(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Pseudonym("alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p, wire.Pseudonym(testKey, "alice"); got != want {
		t.Fatalf("Pseudonym = %s, want %s", got, want)
	}
	if again, _ := v.Pseudonym("alice"); again != p {
		t.Fatalf("second Pseudonym = %s, want %s", again, p)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenVault(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{p, "alice", true},
		{"bob", "bob", true}, // not a pseudonym: unchanged
		{wire.Pseudonym(testKey, "never seen"), "", false},
	}
	for _, tt := range tests {
		if got, ok := r.Resolve(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestOpenVaultRefusesShortKey(t *testing.T) {
	if _, err := OpenVault(filepath.Join(t.TempDir(), "v"), []byte("short")); !errors.Is(err, ErrShortKey) {
		t.Fatalf("OpenVault = %v, want ErrShortKey", err)
	}
}

// TestVaultConvertsJSONL: a vault written by earlier versions keeps every
// mapping through the upgrade, including one the old reader lost (written
// after a torn line), and is read as a journal afterwards.
func TestVaultConvertsJSONL(t *testing.T) {
	pa, pb, pc := wire.Pseudonym(testKey, "alice"), wire.Pseudonym(testKey, "10.0.0.7"), wire.Pseudonym(testKey, "carol")
	old := `{"p":"` + pa + `","v":"alice"}` + "\n" +
		`{"p":"` + pb + `","v":"10.0.0.7"}` + "\n" +
		`{"p":"` + wire.PseudonymPrefix + `dead","v":"tor` + // torn by a crash, then appended to
		`{"p":"` + pc + `","v":"carol"}` + "\n"
	path := filepath.Join(t.TempDir(), "pseudonyms.jsonl")
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the conversion, then a normal open
		v, err := OpenVault(path, testKey)
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]string{pa: "alice", pb: "10.0.0.7", pc: "carol"} {
			if got, ok := v.Resolve(p); !ok || got != want {
				t.Errorf("Resolve(%s) = %q, %v; want %q", p, got, ok, want)
			}
		}
		if _, err := v.Pseudonym("dave"); err != nil {
			t.Fatal(err)
		}
		v.Close()
		b, _ := os.ReadFile(path)
		if !bytes.HasPrefix(b, []byte(durable.Magic)) {
			t.Fatal("the vault was not converted to the journal format")
		}
	}
}

// TestVaultFaults: a failed write, torn write or fsync of a new mapping
// returns an error (the pseudonym is not used), breaks the vault for new
// values, and a restart still resolves every mapping made before.
func TestVaultFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*faultfs.FS)
	}{
		{"write", func(f *faultfs.FS) { f.FailNext(faultfs.OpWrite) }},
		{"torn write", func(f *faultfs.FS) { f.ShortNextWrite(6) }},
		{"fsync", func(f *faultfs.FS) { f.FailNext(faultfs.OpSync) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pseudonyms.jsonl")
			fsys := faultfs.New(nil)
			v, err := OpenVault(path, testKey, WithFS(fsys))
			if err != nil {
				t.Fatal(err)
			}
			pa, err := v.Pseudonym("alice")
			if err != nil {
				t.Fatal(err)
			}
			tt.inject(fsys)
			if p, err := v.Pseudonym("bob"); !errors.Is(err, faultfs.ErrInjected) || p != "" {
				t.Fatalf("Pseudonym(bob) = %q, %v; want the injected fault", p, err)
			}
			if _, err := v.Pseudonym("carol"); !errors.Is(err, faultfs.ErrInjected) {
				t.Fatalf("Pseudonym after the failure = %v, want the same fault", err)
			}
			if again, err := v.Pseudonym("alice"); err != nil || again != pa {
				t.Fatalf("a durable mapping = %q, %v after the failure", again, err)
			}
			v.Close()
			r, err := OpenVault(path, testKey)
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			defer r.Close()
			if got, ok := r.Resolve(pa); !ok || got != "alice" {
				t.Fatalf("Resolve(alice's pseudonym) = %q, %v after restart", got, ok)
			}
			if _, ok := r.Resolve(wire.Pseudonym(testKey, "carol")); ok {
				t.Fatal("a mapping refused after the failure survived")
			}
		})
	}
}

func TestVaultConversionFaultKeepsOldFile(t *testing.T) {
	pa := wire.Pseudonym(testKey, "alice")
	old := []byte(`{"p":"` + pa + `","v":"alice"}` + "\n")
	path := filepath.Join(t.TempDir(), "pseudonyms.jsonl")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenVault(path, testKey, WithFS(faultfs.New(nil).FailNext(faultfs.OpRename))); !errors.Is(err, faultfs.ErrInjected) {
		t.Fatalf("OpenVault = %v, want the injected fault", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, old) {
		t.Fatal("a failed conversion changed the old vault")
	}
	v, err := OpenVault(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got, ok := v.Resolve(pa); !ok || got != "alice" {
		t.Fatalf("Resolve = %q, %v after the retried conversion", got, ok)
	}
}

// FuzzParseLegacyLine: any line of a former vault parses without panic,
// and what it yields is a mapping.
func FuzzParseLegacyLine(f *testing.F) {
	f.Add([]byte(`{"p":"pz:1","v":"alice"}`))
	f.Add([]byte(`{"p":"pz:1","v":"ali{"p":"pz:2","v":"bob"}`))
	f.Add([]byte(`{"p":`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, line []byte) {
		if e, ok := parseLegacyLine(line); ok && e.P == "" {
			t.Fatal("a mapping without a pseudonym")
		}
	})
}
