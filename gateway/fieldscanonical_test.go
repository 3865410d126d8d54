package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestFieldsCanonicalAlone pins the contract of an event ingest built
// without a map (Fields nil, FieldsCanonical set): Canonical writes the
// bytes as the fields, exactly as for the same fields held as a map
// (an empty object omitted, as empty Fields are), Validate does not look
// at Fields, and FieldValues gives the map back.
func TestFieldsCanonicalAlone(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 1, 2, 3, 4, time.UTC)
	tests := []struct {
		name   string
		fields map[string]any
	}{
		{"flat", map[string]any{"a": json.Number("1.50"), "b": "x<y", "é": true, "n": nil}},
		{"nested", map[string]any{"host": map[string]any{"name": "h"}, "tags": []any{"a", json.Number("2"), map[string]any{}}}},
		{"empty", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withMap := Event{ID: "x", Received: t0, Time: t0, Source: "s", Class: ClassOther, Fields: tt.fields, Raw: []byte("r")}
			want, err := withMap.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			enc, ok := AppendFieldValue(nil, tt.fields)
			if !ok {
				t.Fatal("fields do not encode")
			}
			alone := withMap
			alone.Fields, alone.FieldsCanonical = nil, enc
			got, err := alone.Canonical()
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("Canonical with FieldsCanonical alone\n%s (%v)\nwant\n%s", got, err, want)
			}
			if err := alone.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			back, err := alone.FieldValues()
			if err != nil || !reflect.DeepEqual(back, tt.fields) {
				t.Errorf("FieldValues = %#v (%v), want %#v", back, err, tt.fields)
			}
			if f, err := withMap.FieldValues(); err != nil || !reflect.DeepEqual(f, tt.fields) {
				t.Errorf("FieldValues of the map event = %#v (%v)", f, err)
			}
		})
	}
	bad := Event{ID: "x", FieldsCanonical: []byte(`[1]`)}
	if _, err := bad.FieldValues(); err == nil {
		t.Error("FieldValues of a non-object: no error")
	}
}
