package taxii

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// cursorVersion is the first byte of every cursor, so a future layout can
// be told apart from this one.
const cursorVersion = 1

// CursorError is a next parameter that is not a cursor of this collection.
type CursorError struct {
	Cursor string
	Err    error
}

func (e *CursorError) Error() string {
	return fmt.Sprintf("bad next cursor %q: %v (use the next value of the previous page unchanged)", e.Cursor, e.Err)
}

func (e *CursorError) Unwrap() error { return e.Err }

// EncodeCursor returns the opaque cursor for "after pos in collection g":
// base64url (no padding) of the version byte, the group name's length and
// bytes, then the block, transaction and index as uvarints.
func EncodeCursor(g intel.Group, pos intel.Position) string {
	b := make([]byte, 0, 2+len(g)+3*binary.MaxVarintLen64)
	b = append(b, cursorVersion, byte(len(g)))
	b = append(b, g...)
	b = binary.AppendUvarint(b, pos.Block)
	b = binary.AppendUvarint(b, uint64(pos.Tx))
	b = binary.AppendUvarint(b, uint64(pos.Index))
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor made by EncodeCursor and checks it belongs
// to collection g. Errors are *CursorError.
func DecodeCursor(g intel.Group, s string) (intel.Position, error) {
	fail := func(err error) (intel.Position, error) { return intel.Position{}, &CursorError{Cursor: s, Err: err} }
	if len(s) > 128 {
		return fail(errors.New("too long"))
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return fail(errors.New("not base64url"))
	}
	if len(b) < 2 || b[0] != cursorVersion {
		return fail(errors.New("unknown cursor version"))
	}
	n := int(b[1])
	if len(b) < 2+n {
		return fail(errors.New("truncated"))
	}
	if got := intel.Group(b[2 : 2+n]); got != g {
		return fail(fmt.Errorf("cursor of collection %q used on %q", got, g))
	}
	b = b[2+n:]
	var v [3]uint64
	for i := range v {
		x, k := binary.Uvarint(b)
		if k <= 0 {
			return fail(errors.New("truncated position"))
		}
		v[i], b = x, b[k:]
	}
	if len(b) != 0 {
		return fail(errors.New("trailing bytes"))
	}
	if v[1] > 1<<32-1 || v[2] > 1<<32-1 {
		return fail(errors.New("position out of range"))
	}
	return intel.Position{Block: v[0], Tx: uint32(v[1]), Index: uint32(v[2])}, nil
}
