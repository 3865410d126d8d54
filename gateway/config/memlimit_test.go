package config

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestMemoryLimitBytes(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		limit     MemoryLimit
		available int64
		want      int64
		wantErr   bool
	}{
		{"", 8 * gib, 6 * gib, false},
		{DefaultMemoryLimit, 8 * gib, 6 * gib, false},
		{"50%", 8 * gib, 4 * gib, false},
		{"100%", 8 * gib, 8 * gib, false},
		{"75%", 0, 0, false}, // unknown memory: leave the runtime alone
		{"2GiB", 8 * gib, 2 * gib, false},
		{"2147483648", 0, 2 * gib, false},
		{"512MiB", 0, 512 << 20, false},
		{"off", 8 * gib, 0, false},
		{"OFF", 8 * gib, 0, false},
		{"0%", 8 * gib, 0, true},
		{"101%", 8 * gib, 0, true},
		{"NaN%", 8 * gib, 0, true},
		{"1MiB", 8 * gib, 0, true}, // below 64 MiB the gateway cannot run
		{"-5", 8 * gib, 0, true},
		{"lots", 8 * gib, 0, true},
		{"9999999TiB", 8 * gib, 0, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.limit), func(t *testing.T) {
			got, err := tt.limit.Bytes(tt.available)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Bytes(%d) error = %v, want error %v", tt.available, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Bytes(%d) = %d, want %d", tt.available, got, tt.want)
			}
		})
	}
}

func TestMemoryLimitApply(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMEMLIMIT" {
				return v
			}
			return ""
		}
	}

	got, src, err := MemoryLimit("1GiB").Apply(env(""))
	if err != nil || got != 1<<30 || src != "memory_limit" || debug.SetMemoryLimit(-1) != 1<<30 {
		t.Errorf("Apply(1GiB) = %d, %q, %v; runtime limit %d", got, src, err, debug.SetMemoryLimit(-1))
	}
	// GOMEMLIMIT wins: the runtime's limit (set from it at start) is kept.
	debug.SetMemoryLimit(3 << 30)
	got, src, err = MemoryLimit("1GiB").Apply(env("3GiB"))
	if err != nil || got != 3<<30 || src != "GOMEMLIMIT" || debug.SetMemoryLimit(-1) != 3<<30 {
		t.Errorf("Apply with GOMEMLIMIT = %d, %q, %v", got, src, err)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	got, src, err = MemoryLimit("off").Apply(env(""))
	if err != nil || got != math.MaxInt64 || src != "none" {
		t.Errorf("Apply(off) = %d, %q, %v", got, src, err)
	}
	if _, _, err := MemoryLimit("lots").Apply(env("")); err == nil {
		t.Error("Apply(lots) succeeded")
	}
}

func TestMeminfoTotal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meminfo")
	if err := os.WriteFile(p, []byte("MemFree:  10 kB\nMemTotal:       24000000 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := meminfoTotal(p), int64(24000000)<<10; got != want {
		t.Errorf("meminfoTotal = %d, want %d", got, want)
	}
	if got := meminfoTotal(filepath.Join(t.TempDir(), "absent")); got != 0 {
		t.Errorf("meminfoTotal of no file = %d, want 0", got)
	}
	if AvailableMemory() < 0 {
		t.Error("AvailableMemory is negative")
	}
}

func TestLimitsWithMemoryLimit(t *testing.T) {
	tests := []struct {
		name       string
		configured int64
		limit      int64
		want       int64
	}{
		{"a quarter of the limit", 0, 768 << 20, 192 << 20},
		{"configured wins", 64 << 20, 768 << 20, 64 << 20},
		{"no limit: ingest's default", 0, math.MaxInt64, 0},
		{"a large limit keeps the default (4 × 64 MiB bodies)", 0, 12 << 30, 0},
		{"limit unknown", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Limits{MaxDecodingBytes: tt.configured}.WithMemoryLimit(tt.limit).MaxDecodingBytes
			if got != tt.want {
				t.Errorf("MaxDecodingBytes = %d, want %d", got, tt.want)
			}
			if got2 := (Limits{MaxDecodingBytes: tt.configured}).WithMemoryLimit(tt.limit).Ingest().MaxDecodingBytes; got2 != tt.want {
				t.Errorf("Ingest().MaxDecodingBytes = %d, want %d", got2, tt.want)
			}
		})
	}
}
