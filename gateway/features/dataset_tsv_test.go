package features

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestReadRowsTSV reads a Zeek-style TSV log: '#' header lines skipped,
// tab-separated, "-" left as a string (so a numeric feature reads its
// default), columns named by the mapping.
func TestReadRowsTSV(t *testing.T) {
	m := Mapping{Format: "csv", Delimiter: "\t", Comment: "#", Columns: []string{"ts", "orig_pkts", "proto", "label"},
		Fields: map[string]string{"orig_pkts": "source.packets", "proto": "network.transport"}, Prefix: "zeek.",
		LabelColumn: "label", LabelMap: map[string]string{"Benign": "benign", "Malicious": "attack"}}
	in := "#separator \\x09\n#fields\tts\torig_pkts\tproto\tlabel\n1.5\t2\ttcp\tMalicious\n2.5\t-\tudp\tBenign\n#close\t2022\n"
	var rows []Row
	if err := ReadRows(context.Background(), strings.NewReader(in), "conn.log", m, "", nil, func(r Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		got, want any
	}{
		{len(rows), 2},
		{rows[0].Label, "attack"},
		{rows[0].Event.Fields["source.packets"], 2.0},
		{rows[0].Event.Fields["network.transport"], "tcp"},
		{rows[1].Label, "benign"},
		{rows[1].Event.Fields["source.packets"], "-"},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("check %d: got %v, want %v", i, tc.got, tc.want)
		}
	}
}

func TestReadRowsDelimiterErrors(t *testing.T) {
	for _, m := range []Mapping{
		{Format: "csv", Columns: []string{"a"}, Delimiter: "\t\t"},
		{Format: "csv", Columns: []string{"a"}, Comment: "//"},
		{Format: "csv", Columns: []string{"a"}, Delimiter: "#", Comment: "#"},
	} {
		err := ReadRows(context.Background(), strings.NewReader("1\n"), "f", m, "", nil, func(Row) error { return nil })
		if !errors.Is(err, ErrDataset) {
			t.Errorf("%+v: err = %v, want ErrDataset", m, err)
		}
	}
}

// FuzzReadRowsTSV: any bytes read as a Zeek-style TSV either yield rows or
// fail with ErrDataset; they never panic.
func FuzzReadRowsTSV(f *testing.F) {
	f.Add("#fields\tts\torig_pkts\tlabel\n1.5\t2\tMalicious\n")
	f.Add("1\t-\t(empty)\n\"quoted\t2\tBenign\n")
	f.Add("#close\n\n\t\t\t\t\n")
	m := Mapping{Format: "csv", Delimiter: "\t", Comment: "#", Columns: []string{"ts", "orig_pkts", "label"},
		Fields: map[string]string{"orig_pkts": "source.packets"}, Prefix: "zeek.", LabelColumn: "label"}
	f.Fuzz(func(t *testing.T, in string) {
		err := ReadRows(context.Background(), strings.NewReader(in), "conn.log", m, "", nil, func(r Row) error {
			if _, ok := r.Event.Fields["zeek.label"]; ok {
				t.Fatal("the label column became a field")
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrDataset) {
			t.Fatalf("err = %v, want ErrDataset", err)
		}
	})
}
