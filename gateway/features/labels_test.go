package features

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestReadEventLabels(t *testing.T) {
	want := map[string]string{"e1": "benign", "e2": "brute_force"}
	tests := []struct {
		name, in string
	}{
		{"json object", `{"e1": "benign", "e2": " brute_force "}`},
		{"json array event_id", `[{"event_id": "e1", "label": "benign"}, {"event_id": "e2", "label": "brute_force"}]`},
		{"json array id", "\n [{\"id\": \"e1\", \"label\": \"benign\"}, {\"id\": \"e2\", \"label\": \"brute_force\"}]"},
		{"csv", "event_id,label\ne1,benign\ne2,brute_force\n"},
		{"csv bom extra columns", "\ufeffalert_id,label,event_id,analyst\na1,benign,e1,x\na2,brute_force,e2,y\n"},
		{"csv duplicate same label", "id,label\ne1,benign\ne2,brute_force\ne1,benign\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadEventLabels(strings.NewReader(tt.in), "labels")
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestReadEventLabelsErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":            " \n",
		"no id column":     "event,label\ne1,benign\n",
		"no label column":  "event_id,verdict\ne1,benign\n",
		"conflict":         "event_id,label\ne1,benign\ne1,brute_force\n",
		"empty label":      `{"e1": ""}`,
		"bad json":         `{"e1": 3}`,
		"short csv record": "event_id,label\ne1\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadEventLabels(strings.NewReader(in), "labels")
			var de *DatasetError
			if !errors.As(err, &de) || !errors.Is(err, ErrDataset) {
				t.Fatalf("got %v, want *DatasetError", err)
			}
		})
	}
}
