package ingest

import (
	"errors"
	"testing"
	"time"
)

func TestParseEpoch(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"1700000000", time.Unix(1700000000, 0).UTC(), false},
		{"1700000000.25", time.Unix(1700000000, 250_000_000).UTC(), false},
		{"1700000000.123456789", time.Unix(1700000000, 123456789).UTC(), false},
		{"1700000000.1234567891", time.Unix(1700000000, 123456789).UTC(), false},
		{"1700000000.", time.Unix(1700000000, 0).UTC(), false},
		{"0", time.Unix(0, 0).UTC(), false},
		{"1.7e9", time.Unix(1700000000, 0).UTC(), false},
		{"100000000000", time.Unix(1e11, 0).UTC(), false},
		{"100000000001", time.Time{}, true},
		{"-1", time.Time{}, true},
		{"NaN", time.Time{}, true},
		{"Inf", time.Time{}, true},
		{"", time.Time{}, true},
		{"abc", time.Time{}, true},
		{"0x10", time.Time{}, true},
		{"1700000000.-5", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEpoch(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrEpoch) {
					t.Fatalf("ParseEpoch(%q) = %v, %v; want ErrEpoch", tt.in, got, err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("ParseEpoch(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseEpoch(f *testing.F) {
	for _, s := range []string{"1700000000", "1700000000.25", "1.7e9", "-1", "NaN", "99999999999.999999999", "1e-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseEpoch(s)
		if err != nil {
			if !errors.Is(err, ErrEpoch) || !got.IsZero() {
				t.Fatalf("ParseEpoch(%q) = %v, %v: failure must be ErrEpoch with zero time", s, got, err)
			}
			return
		}
		if got.Location() != time.UTC || got.Unix() < 0 || got.Unix() > maxEpoch {
			t.Fatalf("ParseEpoch(%q) = %v: outside [0, maxEpoch] or not UTC", s, got)
		}
	})
}
