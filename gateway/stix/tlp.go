package stix

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TLP markings. STIX 2.1 predefines the TLP 1.0 marking definitions
// (WHITE, GREEN, AMBER, RED; STIX 2.0 uses the same ids); OASIS publishes
// the TLP 2.0 ones (CLEAR, GREEN, AMBER, AMBER+STRICT, RED) as marking
// definitions carrying the TLP 2.0 extension. Import understands both
// (TLP 1.0 WHITE is TLP 2.0 CLEAR) and, for marking definitions with other
// ids, their definition or extension; export writes TLP 2.0.

// tlp2Extension is the id of OASIS's TLP 2.0 extension definition.
const tlp2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// tlp2Created is the created time of the published TLP 2.0 objects (part
// of the objects, like their ids).
const tlp2Created = "2022-10-01T00:00:00.000Z"

var tlp2IDs = map[string]string{
	wire.TLPClear:       "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	wire.TLPGreen:       "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	wire.TLPAmber:       "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	wire.TLPAmberStrict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	wire.TLPRed:         "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

var tlp1IDs = map[string]string{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": wire.TLPClear, // TLP:WHITE
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": wire.TLPGreen,
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": wire.TLPAmber,
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": wire.TLPRed,
}

// tlpOrder ranks the markings from least to most restrictive.
var tlpOrder = []string{wire.TLPClear, wire.TLPGreen, wire.TLPAmber, wire.TLPAmberStrict, wire.TLPRed}

func tlpRank(tlp string) int {
	for i, t := range tlpOrder {
		if t == tlp {
			return i
		}
	}
	return -1
}

// Stricter returns the more restrictive of two TLP markings ("" counts as
// no marking).
func Stricter(a, b string) string {
	if tlpRank(a) >= tlpRank(b) {
		return a
	}
	return b
}

// ParseTLP reads a TLP marking as people write it: case-insensitive, with
// or without the "TLP:" prefix; TLP 1.0 WHITE is CLEAR.
func ParseTLP(s string) (string, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "TLP:")
	if t == "WHITE" {
		t = wire.TLPClear
	}
	if tlpRank(t) < 0 {
		return "", fmt.Errorf("TLP %q is not one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED", s)
	}
	return t, nil
}

// MarkingID returns the id of the TLP 2.0 marking definition for tlp.
func MarkingID(tlp string) (string, bool) {
	id, ok := tlp2IDs[tlp]
	return id, ok
}

// markingTLP returns the TLP of a marking definition id: a published TLP
// 1.0 or 2.0 id, or a marking definition of the bundle that defines one.
func markingTLP(id string, defined map[string]string) (string, bool) {
	for t, mid := range tlp2IDs {
		if mid == id {
			return t, true
		}
	}
	if t, ok := tlp1IDs[id]; ok {
		return t, true
	}
	t, ok := defined[id]
	return t, ok
}

// markingDefinition is the part of a marking-definition object that says
// whether it is a TLP marking.
type markingDefinition struct {
	DefinitionType string `json:"definition_type"`
	Definition     struct {
		TLP string `json:"tlp"`
	} `json:"definition"`
	Extensions map[string]struct {
		TLP20 string `json:"tlp_2_0"`
	} `json:"extensions"`
}

// tlpOf returns the TLP a marking definition object defines, if any.
func (m markingDefinition) tlpOf() (string, bool) {
	if ext, ok := m.Extensions[tlp2Extension]; ok && ext.TLP20 != "" {
		t, err := ParseTLP(ext.TLP20)
		return t, err == nil
	}
	if m.DefinitionType == "tlp" && m.Definition.TLP != "" {
		t, err := ParseTLP(m.Definition.TLP)
		return t, err == nil
	}
	return "", false
}

// MarkingObject returns OASIS's TLP 2.0 marking definition for tlp, as
// published, so a bundle can carry the markings its objects reference.
func MarkingObject(tlp string) (Object, error) {
	id, ok := tlp2IDs[tlp]
	if !ok {
		return Object{}, fmt.Errorf("no TLP marking %q", tlp)
	}
	b, err := json.Marshal(struct {
		Type        string         `json:"type"`
		SpecVersion string         `json:"spec_version"`
		ID          string         `json:"id"`
		Created     string         `json:"created"`
		Name        string         `json:"name"`
		Extensions  map[string]any `json:"extensions"`
	}{"marking-definition", "2.1", id, tlp2Created, "TLP:" + tlp, map[string]any{
		tlp2Extension: map[string]string{"extension_type": "property-extension", "tlp_2_0": strings.ToLower(tlp)},
	}})
	if err != nil {
		return Object{}, err
	}
	created, _ := parseTimestamp(tlp2Created)
	return Object{ID: id, Type: "marking-definition", Version: created, JSON: b}, nil
}
