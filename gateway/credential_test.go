package gateway

import "testing"

func TestAnyHas(t *testing.T) {
	read := Credential{Name: "r", Scopes: []Scope{ScopeRead}}
	off := Credential{Name: "m", Scopes: []Scope{ScopeMetrics}, Disabled: true}
	tests := []struct {
		name string
		list []Credential
		want bool
	}{
		{"none", nil, false},
		{"other scope", []Credential{read}, false},
		{"disabled holder", []Credential{read, off}, false},
		{"enabled holder", []Credential{read, off, {Name: "m2", Scopes: []Scope{ScopeRead, ScopeMetrics}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AnyHas(tt.list, ScopeMetrics); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
