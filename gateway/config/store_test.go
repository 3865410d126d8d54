package config

import (
	"math"
	"strings"
	"testing"
)

// TestStoreSettings: store.ack_after_segment is off unless the file turns
// it on, store.recent_leaves_bytes defaults to DefaultRecentLeavesBytes
// (0 turns the ring off), and a value of the wrong kind or range is
// refused with an error naming it.
func TestStoreSettings(t *testing.T) {
	tests := []struct {
		name       string
		store      string
		wantAck    bool
		wantRecent int64
		wantErr    string // a part of the refusal; "" for none
	}{
		{"default", "", false, DefaultRecentLeavesBytes, ""},
		{"ack on", "store: {ack_after_segment: true}\n", true, DefaultRecentLeavesBytes, ""},
		{"ack off", "store: {ack_after_segment: false}\n", false, DefaultRecentLeavesBytes, ""},
		{"ack not a boolean", "store: {ack_after_segment: sometimes}\n", false, 0, "sometimes"},
		{"recent set", "store: {recent_leaves_bytes: 1048576}\n", false, 1 << 20, ""},
		{"recent off", "store: {recent_leaves_bytes: 0}\n", false, 0, ""},
		{"recent negative", "store: {recent_leaves_bytes: -1}\n", false, 0, "recent_leaves_bytes"},
	}
	for _, tt := range tests {
		got, err := LoadWith(writeFile(t, minimal+tt.store), noEnv)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: got err %v, want a refusal naming %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Store.AckAfterSegment != tt.wantAck || got.Store.RecentLeavesBytes != tt.wantRecent {
			t.Errorf("%s: got ack_after_segment %v, recent_leaves_bytes %d; want %v, %d", tt.name,
				got.Store.AckAfterSegment, got.Store.RecentLeavesBytes, tt.wantAck, tt.wantRecent)
		}
	}
}

// TestStoreWithMemoryLimit: the default ring is lowered to an eighth of a
// memory limit that makes that less; a value the file sets is kept, and
// OverMemoryShare says when it exceeds that share.
func TestStoreWithMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name       string
		recent     int64
		limit      int64
		wantRecent int64
		wantOver   bool
	}{
		{"default, no limit", DefaultRecentLeavesBytes, 0, DefaultRecentLeavesBytes, false},
		{"default, no limit (MaxInt64)", DefaultRecentLeavesBytes, math.MaxInt64, DefaultRecentLeavesBytes, false},
		{"default, the bench's 768 MiB", DefaultRecentLeavesBytes, 768 * mib, 96 * mib, false},
		{"default, 256 MiB", DefaultRecentLeavesBytes, 256 * mib, 32 * mib, false},
		{"default, 4 GiB", DefaultRecentLeavesBytes, 4096 * mib, DefaultRecentLeavesBytes, false},
		{"set, 256 MiB", 64 * mib, 256 * mib, 64 * mib, true},
		{"set within the share", 16 * mib, 256 * mib, 16 * mib, false},
		{"off", 0, 256 * mib, 0, false},
	}
	for _, tt := range tests {
		got := Store{RecentLeavesBytes: tt.recent}.WithMemoryLimit(tt.limit)
		if got.RecentLeavesBytes != tt.wantRecent || got.OverMemoryShare(tt.limit) != tt.wantOver {
			t.Errorf("%s: got %d bytes, over %v; want %d, %v", tt.name, got.RecentLeavesBytes, got.OverMemoryShare(tt.limit), tt.wantRecent, tt.wantOver)
		}
	}
}
