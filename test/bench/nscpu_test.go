package main

import (
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		want       time.Duration
		wantOK     bool
	}{
		{"peer", "4242 (peer) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 30 0 1000 0 0", 1750 * time.Millisecond, true},
		{"command with spaces and parentheses", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0", 70 * time.Millisecond, true},
		{"too few fields", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 3", 0, false},
		{"no command", "7 x R 1 7 7 0 -1 0 0 0 0 0 3 4", 0, false},
		{"negative ticks", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 -3 4", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := statCPU([]byte(tt.line))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("statCPU(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzStatCPU(f *testing.F) {
	f.Add([]byte("4242 (peer) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 30 0 1000 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, ok := statCPU(b); ok && got < 0 || !ok && got != 0 {
			t.Errorf("statCPU(%q) = %v, %v", b, got, ok)
		}
	})
}
