package durable

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Magic starts every journal file: it names the format and its version,
// so a file of another format (or an older one a caller converts) is
// recognised instead of misread.
const Magic = "LGJRNL\x00\x01"

// frameHeader is the size of a frame's header: uint32 little-endian
// payload length ‖ uint32 little-endian CRC-32C (Castagnoli) of the length
// bytes and the payload. The checksum covers the length so a zeroed or
// damaged header never passes as an empty record.
const frameHeader = 8

// MaxRecord bounds one record's payload. A header announcing more is
// damage, not a record.
const MaxRecord = 16 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func frameSum(lenBytes, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(lenBytes, castagnoli), castagnoli, payload)
}

// AppendFrame appends the frame of payload to buf. The caller keeps
// len(payload) <= MaxRecord.
func AppendFrame(buf, payload []byte) []byte {
	var l [4]byte
	binary.LittleEndian.PutUint32(l[:], uint32(len(payload)))
	buf = append(buf, l[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, frameSum(l[:], payload))
	return append(buf, payload...)
}

// FrameHeaderSize is the size of a frame's header (see AppendFrame):
// callers that lay out frames themselves (the event store's segment
// files) reserve it and fill it with PutFrameHeader.
const FrameHeaderSize = frameHeader

// PutFrameHeader writes the header of payload (its length and checksum)
// into hdr[:FrameHeaderSize], so a caller can frame a payload it built in
// place, e.g. after filling in a hash, without copying it. The caller
// keeps len(payload) <= MaxRecord.
func PutFrameHeader(hdr, payload []byte) {
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:8], frameSum(hdr[0:4], payload))
}

// ParseFrame returns the payload of the whole, valid frame at the start
// of data (aliasing data), or ok false with why it is not one: too short
// for its header or its announced length, a length over MaxRecord, or a
// checksum mismatch. It never reads past data.
func ParseFrame(data []byte) (payload []byte, ok bool, why string) {
	return frameAt(data, 0)
}

// frameAt returns the payload of the whole, valid frame starting at
// data[at:], or ok false with why it is not one.
func frameAt(data []byte, at int) (payload []byte, ok bool, why string) {
	rest := data[at:]
	if len(rest) < frameHeader {
		return nil, false, "partial frame header"
	}
	n := binary.LittleEndian.Uint32(rest[0:4])
	if n > MaxRecord {
		return nil, false, fmt.Sprintf("frame length %d exceeds %d", n, MaxRecord)
	}
	if uint64(n) > uint64(len(rest)-frameHeader) {
		return nil, false, "frame extends past the end of the file"
	}
	p := rest[frameHeader : frameHeader+int(n)]
	if frameSum(rest[0:4], p) != binary.LittleEndian.Uint32(rest[4:8]) {
		return nil, false, "checksum mismatch"
	}
	return p, true, ""
}

// ReadFrames calls fn with the payload of each whole frame of data in
// order (data holds frames only, no file header; base is data's offset in
// the file, used in errors). It returns the length of the valid prefix.
// At the first frame that is partial, malformed or fails its checksum it
// decides: if no valid frame starts anywhere after it, the rest is a torn
// tail (a write a crash interrupted, never acknowledged) and ReadFrames
// returns its offset with a nil error; if one does, the damage is in the
// middle of acknowledged data and ReadFrames returns a *CorruptError. An
// error from fn stops the scan and is returned in a *RecordError naming
// the record's offset. A payload that
// itself embeds frames of this format can make a torn tail look like
// corruption: it is refused, never silently dropped.
func ReadFrames(path string, base int64, data []byte, fn func(payload []byte) error) (int, error) {
	at := 0
	for at < len(data) {
		p, ok, why := frameAt(data, at)
		if !ok {
			for q := at + 1; q+frameHeader <= len(data); q++ {
				if _, later, _ := frameAt(data, q); later {
					return at, &CorruptError{Path: path, Offset: base + int64(at), Reason: why + ", valid frames follow"}
				}
			}
			return at, nil
		}
		if err := fn(p); err != nil {
			return at, &RecordError{Path: path, Offset: base + int64(at), Err: err}
		}
		at += frameHeader + len(p)
	}
	return at, nil
}
