package intelrec

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// compact is the third stored form, written whenever a record's hashes
// are lowercase hex and its times fit Unix nanoseconds (every record the
// contract writes): hashes (H, v, x, rx, px) are base64url without
// padding (43 characters for 64 of hex), times are integer Unix
// nanoseconds (19 digits for 32 characters of text; a wire.Time is UTC
// with nanosecond precision, so nothing is lost) and a STIX id
// "indicator--<lowercase UUID>" is kept as the UUID's 16 bytes in
// base64url (s), "indicator--<lowercase hex>" as the hex's bytes (sh),
// any other whole (sf).
// H comes first: its name is the form's mark. No two names differ only
// by case (encoding/json matches names case-insensitively), and none is
// "h", so the form-2 reader can never mistake one for the other.
type compact struct {
	Hash           string   `json:"H"`
	KeyID          string   `json:"k"`
	Type           string   `json:"t"`
	Confidence     int      `json:"c"`
	TLP            string   `json:"l"`
	Recipients     []string `json:"r,omitempty"`
	ValidFrom      int64    `json:"f"`
	ValidUntil     int64    `json:"u,omitempty"`
	Techniques     []string `json:"q,omitempty"`
	KillChainPhase string   `json:"p,omitempty"`
	StixUUID       string   `json:"s,omitempty"`
	StixHex        string   `json:"sh,omitempty"`
	StixFull       string   `json:"sf,omitempty"`
	ValueHash      string   `json:"v,omitempty"`
	SharedBy       string   `json:"b"`
	SharedAt       int64    `json:"a,omitempty"`
	SharedTx       string   `json:"x,omitempty"`
	Status         string   `json:"st,omitempty"`
	RevokedAt      int64    `json:"ra,omitempty"`
	RevokedTx      string   `json:"rx,omitempty"`
	PurgedAt       int64    `json:"pa,omitempty"`
	PurgedTx       string   `json:"px,omitempty"`
	Pack           string   `json:"n,omitempty"`
	ValueKey       string   `json:"vk,omitempty"`
}

// compactMark starts every record in the compact form.
var compactMark = []byte(`{"H":`)

// stixPrefix starts every STIX indicator id.
const stixPrefix = "indicator--"

// b64 is base64url without padding, strict so that each byte string has
// one text (decode then encode gives the same bytes back).
var b64 = base64.RawURLEncoding.Strict()

// hexTo64 returns lowercase hex h as base64url; ok is false for anything
// else (uppercase, odd length, not hex), which the compact form cannot
// carry exactly. Empty stays empty.
func hexTo64(h string) (string, bool) {
	if len(h)%2 != 0 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return "", false
	}
	return b64.EncodeToString(raw), true
}

// b64ToHex is hexTo64's inverse.
func b64ToHex(field, s string) (string, error) {
	raw, err := b64.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("stored indicator record: %s is not base64url: %w", field, err)
	}
	return hex.EncodeToString(raw), nil
}

// nanos returns t as Unix nanoseconds; ok is false when t is zero, is
// the Unix epoch itself (0 means absent) or falls outside int64
// nanoseconds (years 1678 to 2262).
func nanos(t wire.Time) (int64, bool) {
	if t.IsZero() {
		return 0, false
	}
	n := t.UnixNano()
	if n == 0 || !time.Unix(0, n).Equal(t.Time) {
		return 0, false
	}
	return n, true
}

// optNanos is nanos for a time that may be unset (zero encodes as 0).
func optNanos(t wire.Time) (int64, bool) {
	if t.IsZero() {
		return 0, true
	}
	return nanos(t)
}

// fromNanos is nanos' inverse (0 is the zero Time).
func fromNanos(n int64) wire.Time {
	if n == 0 {
		return wire.Time{}
	}
	return wire.NewTime(time.Unix(0, n))
}

// toCompact returns the compact form of s (the form-2 record), ok false
// when a hash or time does not fit it.
func toCompact(s *stored) (*compact, bool) {
	c := compact{
		KeyID: s.KeyID, Type: s.Type, Confidence: s.Confidence, TLP: s.TLP, Recipients: s.Recipients,
		Techniques: s.Techniques, KillChainPhase: s.KillChainPhase, SharedBy: s.SharedBy,
		Status: s.Status, Pack: s.Pack, ValueKey: s.ValueKey,
	}
	ok := true
	conv := func(dst *string, h string) {
		v, good := hexTo64(h)
		*dst, ok = v, ok && good
	}
	conv(&c.Hash, s.Hash)
	conv(&c.ValueHash, s.ValueHash)
	conv(&c.SharedTx, s.SharedTx)
	conv(&c.RevokedTx, s.RevokedTx)
	conv(&c.PurgedTx, s.PurgedTx)
	at := func(dst *int64, t wire.Time, required bool) {
		f := optNanos
		if required {
			f = nanos
		}
		v, good := f(t)
		*dst, ok = v, ok && good
	}
	at(&c.ValidFrom, s.ValidFrom, true)
	at(&c.ValidUntil, s.ValidUntil, false)
	at(&c.SharedAt, s.SharedAt, false)
	at(&c.RevokedAt, s.RevokedAt, false)
	at(&c.PurgedAt, s.PurgedAt, false)
	c.StixUUID, c.StixHex, c.StixFull = stixTo64(s.StixID)
	return &c, ok && c.Hash != ""
}

// appendJSON appends the JSON encoding of c, byte for byte what
// json.Marshal(&c) writes (the tests compare them), without reflection.
func (c *compact) appendJSON(b []byte) []byte {
	b = appendStr(append(b, `{"H":`...), c.Hash)
	b = appendStr(append(b, `,"k":`...), c.KeyID)
	b = appendStr(append(b, `,"t":`...), c.Type)
	b = strconv.AppendInt(append(b, `,"c":`...), int64(c.Confidence), 10)
	b = appendStr(append(b, `,"l":`...), c.TLP)
	b = appendStrs(b, `,"r":`, c.Recipients)
	b = strconv.AppendInt(append(b, `,"f":`...), c.ValidFrom, 10)
	b = appendInt(b, `,"u":`, c.ValidUntil)
	b = appendStrs(b, `,"q":`, c.Techniques)
	b = appendOpt(b, `,"p":`, c.KillChainPhase)
	b = appendOpt(b, `,"s":`, c.StixUUID)
	b = appendOpt(b, `,"sh":`, c.StixHex)
	b = appendOpt(b, `,"sf":`, c.StixFull)
	b = appendOpt(b, `,"v":`, c.ValueHash)
	b = appendStr(append(b, `,"b":`...), c.SharedBy)
	b = appendInt(b, `,"a":`, c.SharedAt)
	b = appendOpt(b, `,"x":`, c.SharedTx)
	b = appendOpt(b, `,"st":`, c.Status)
	b = appendInt(b, `,"ra":`, c.RevokedAt)
	b = appendOpt(b, `,"rx":`, c.RevokedTx)
	b = appendInt(b, `,"pa":`, c.PurgedAt)
	b = appendOpt(b, `,"px":`, c.PurgedTx)
	b = appendOpt(b, `,"n":`, c.Pack)
	b = appendOpt(b, `,"vk":`, c.ValueKey)
	return append(b, '}')
}

// appendInt appends name and v unless v is 0 (omitempty).
func appendInt(b []byte, name string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), v, 10)
}

// decodeCompact reads a record in the compact form into the form-2
// struct (Decode finishes both the same way).
func decodeCompact(b []byte) (*stored, error) {
	var c compact
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	if c.Hash == "" || c.SharedBy == "" {
		return nil, fmt.Errorf("stored indicator record without hash or sharer")
	}
	stix, err := stixFrom64(c.StixUUID, c.StixHex, c.StixFull)
	if err != nil {
		return nil, err
	}
	s := stored{
		KeyID: c.KeyID, Type: c.Type, Confidence: c.Confidence, TLP: c.TLP, Recipients: c.Recipients,
		ValidFrom: fromNanos(c.ValidFrom), ValidUntil: fromNanos(c.ValidUntil), Techniques: c.Techniques,
		KillChainPhase: c.KillChainPhase, StixID: stix, SharedBy: c.SharedBy, SharedAt: fromNanos(c.SharedAt),
		Status: c.Status, RevokedAt: fromNanos(c.RevokedAt), PurgedAt: fromNanos(c.PurgedAt),
		Pack: c.Pack, ValueKey: c.ValueKey,
	}
	for _, h := range []struct {
		name     string
		src      string
		dst      *string
		required bool
	}{
		{"H", c.Hash, &s.Hash, true}, {"v", c.ValueHash, &s.ValueHash, false}, {"x", c.SharedTx, &s.SharedTx, false},
		{"rx", c.RevokedTx, &s.RevokedTx, false}, {"px", c.PurgedTx, &s.PurgedTx, false},
	} {
		if h.src == "" {
			continue
		}
		v, err := b64ToHex(h.name, h.src)
		if err != nil {
			return nil, err
		}
		if v == "" && h.required {
			return nil, fmt.Errorf("stored indicator record without hash or sharer")
		}
		*h.dst = v
	}
	return &s, nil
}

// stixTo64 returns the compact fields of a STIX id (exactly one of them
// set unless id is empty, then none).
func stixTo64(id string) (uuid, hexID, full string) {
	rest, cut := strings.CutPrefix(id, stixPrefix)
	if !cut || rest == "" {
		return "", "", id
	}
	if isUUID(rest) {
		u, _ := hexTo64(strings.ReplaceAll(rest, "-", ""))
		return u, "", ""
	}
	if h, ok := hexTo64(rest); ok {
		return "", h, ""
	}
	return "", "", id
}

// stixFrom64 is stixTo64's inverse.
func stixFrom64(uuid, hexID, full string) (string, error) {
	switch {
	case uuid != "" && hexID == "" && full == "":
		h, err := b64ToHex("s", uuid)
		if err != nil {
			return "", err
		}
		if len(h) != 32 {
			return "", fmt.Errorf("stored indicator record: s is not a UUID")
		}
		return stixPrefix + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
	case hexID != "" && uuid == "" && full == "":
		h, err := b64ToHex("sh", hexID)
		if err != nil {
			return "", err
		}
		return stixPrefix + h, nil
	case uuid == "" && hexID == "":
		return full, nil
	}
	return "", fmt.Errorf("stored indicator record with more than one STIX id")
}

// isUUID reports whether s is a UUID in lowercase 8-4-4-4-12 hex.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
