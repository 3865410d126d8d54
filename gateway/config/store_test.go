package config

import (
	"strings"
	"testing"
)

// TestStoreAckAfterSegment: store.ack_after_segment is off unless the file
// turns it on, and a value that is not a boolean is refused.
func TestStoreAckAfterSegment(t *testing.T) {
	tests := []struct {
		name    string
		store   string
		want    bool
		wantErr bool
	}{
		{"default", "", false, false},
		{"on", "store: {ack_after_segment: true}\n", true, false},
		{"off", "store: {ack_after_segment: false}\n", false, false},
		{"not a boolean", "store: {ack_after_segment: sometimes}\n", false, true},
	}
	for _, tt := range tests {
		got, err := LoadWith(writeFile(t, minimal+tt.store), noEnv)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "ack_after_segment") && !strings.Contains(err.Error(), "sometimes") {
				t.Errorf("%s: got err %v, want a refusal naming the value", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Store.AckAfterSegment != tt.want {
			t.Errorf("%s: got ack_after_segment %v, want %v", tt.name, got.Store.AckAfterSegment, tt.want)
		}
	}
}

// TestStoreRecentLeavesBytes: store.recent_leaves_bytes defaults to
// DefaultRecentLeavesBytes, 0 turns the ring off, and a negative size is
// refused.
func TestStoreRecentLeavesBytes(t *testing.T) {
	tests := []struct {
		name    string
		store   string
		want    int64
		wantErr bool
	}{
		{"default", "", DefaultRecentLeavesBytes, false},
		{"set", "store: {recent_leaves_bytes: 1048576}\n", 1 << 20, false},
		{"off", "store: {recent_leaves_bytes: 0}\n", 0, false},
		{"negative", "store: {recent_leaves_bytes: -1}\n", 0, true},
	}
	for _, tt := range tests {
		got, err := LoadWith(writeFile(t, minimal+tt.store), noEnv)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "recent_leaves_bytes") {
				t.Errorf("%s: got err %v, want a refusal naming store.recent_leaves_bytes", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Store.RecentLeavesBytes != tt.want {
			t.Errorf("%s: got recent_leaves_bytes %d, want %d", tt.name, got.Store.RecentLeavesBytes, tt.want)
		}
	}
}
