package connector

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"TOKEN": "s3cret", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"Bearer ${TOKEN}", "Bearer s3cret", false},
		{"${TOKEN}${TOKEN}", "s3crets3cret", false},
		{"x${EMPTY}y", "xy", false},
		{"$TOKEN stays", "$TOKEN stays", false},
		{"no refs", "no refs", false},
		{"${MISSING}", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ExpandEnv(tt.in, lookup)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ExpandEnv(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			if got != tt.want {
				t.Fatalf("ExpandEnv(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRetryableStatus(t *testing.T) {
	for code, want := range map[int]bool{400: false, 401: false, 403: false, 404: false, 409: false, 422: false,
		408: true, 425: true, 429: true, 500: true, 502: true, 503: true, 504: true} {
		if got := RetryableStatus(code); got != want {
			t.Errorf("RetryableStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"retryable", Retryable("x", errors.New("boom")), true},
		{"permanent", Permanent("x", errors.New("boom")), false},
		{"wrapped retryable", fmt.Errorf("ctx: %w", Retryable("x", errors.New("boom"))), true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, false},
		{"plain", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Fatalf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	tests := []struct {
		index    int
		rollback bool
		want     string
	}{
		{0, false, "r1"}, {2, false, "r1/2"}, {0, true, "r1/rollback"}, {1, true, "r1/1/rollback"},
	}
	for _, tt := range tests {
		if got := IdempotencyKey("r1", tt.index, tt.rollback); got != tt.want {
			t.Errorf("IdempotencyKey(r1, %d, %v) = %q, want %q", tt.index, tt.rollback, got, tt.want)
		}
	}
}

func TestConfigKind(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    string
		wantErr bool
	}{
		{"none", Config{}, "", true},
		{"rest", Config{REST: &RESTConfig{}}, "rest", false},
		{"two", Config{REST: &RESTConfig{}, Notify: &NotifyConfig{}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.Kind()
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("Kind() = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDetail(t *testing.T) {
	tests := []struct {
		body, field, want string
	}{
		{`{"id":"~4096"}`, "id", "HTTP 201 id=~4096"},
		{`{"data":{"case":7}}`, "data.case", "HTTP 201 data.case=7"},
		{`{"id":"x"}`, "missing", "HTTP 201"},
		{`not json`, "id", "HTTP 201"},
		{`{"id":"x"}`, "", "HTTP 201"},
	}
	for _, tt := range tests {
		if got := Detail(Answer{StatusCode: 201, Body: []byte(tt.body)}, tt.field); got != tt.want {
			t.Errorf("Detail(%s, %q) = %q, want %q", tt.body, tt.field, got, tt.want)
		}
	}
}
