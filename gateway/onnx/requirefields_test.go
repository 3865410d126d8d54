package onnx

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateRequireFields: a manifest's applies_to.require_fields may
// not hold an empty name or one name twice (an empty wanted key once made
// canonical extraction index its first byte).
func TestValidateRequireFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "models", "auth-bruteforce", "1.1.0", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		fields  []string
		wantErr string
	}{
		{"none", nil, ""},
		{"distinct", []string{"source.ip", "user.name"}, ""},
		{"empty name", []string{"source.ip", ""}, "empty field name"},
		{"twice", []string{"user.name", "source.ip", "user.name"}, `"user.name" listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Manifest
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			m.AppliesTo.RequireFields = tc.fields
			err := m.validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
