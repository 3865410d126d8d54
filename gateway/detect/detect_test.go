package detect

import (
	"context"
	"errors"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

type fixed struct {
	out []Result
	err error
}

func (f fixed) Detect(context.Context, []gateway.Event) ([]Result, error) { return f.out, f.err }

func TestJoin(t *testing.T) {
	a := fixed{out: []Result{{Index: 0, Model: "a"}, {Index: 2, Model: "a"}}}
	b := fixed{out: []Result{{Index: 1, Model: "b"}, {Index: 2, Model: "b"}}}
	tests := []struct {
		name    string
		ds      []Detector
		want    []string
		wantErr bool
	}{
		{"one is returned as is", []Detector{nil, a}, []string{"a0", "a2"}, false},
		{"results ordered by event, detector order kept", []Detector{a, b}, []string{"a0", "b1", "a2", "b2"}, false},
		{"an error fails the call", []Detector{a, fixed{err: errors.New("boom")}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Join(tt.ds...).Detect(context.Background(), nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.Model+string(rune('0'+r.Index)))
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("got %v, want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", ids, tt.want)
				}
			}
		})
	}
}
