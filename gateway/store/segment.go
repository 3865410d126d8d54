package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// Segment files hold the log's events, in the folder "segments" of the
// store's directory:
//
//	<first seq, 20 digits>.seg   header, then one frame per event in seq order
//	<first seq, 20 digits>.idx   header, then one uint64 (big-endian) per event:
//	                             the offset of its frame in the .seg file
//
// A .seg header is segMagic (format and version), the segment's first seq
// (8 bytes, big-endian), a CRC-32C of those 16 bytes and 4 zero bytes. A
// frame is durable's journal framing (length ‖ CRC-32C ‖ payload, see
// durable.AppendFrame) around
//
//	seq(8, big-endian) ‖ leaf hash(32) ‖ leaf (canonical event bytes)
//
// so the leaf hash is computed once, at append, and read back with the
// leaf. An .idx header is idxMagic and the first seq. Offsets are fixed
// width, so the record of any seq is one read of the index and one of the
// segment; the index of a segment is fsynced when the next segment starts,
// and the index of the last segment is rebuilt from its frames at open,
// so appends need not fsync it.
//
// Segments are named by their first seq and never rewritten once the next
// one starts, so retention or compaction can later drop or rewrite whole
// old segments without touching the rest.
//
// Preallocation (WithSegmentPreallocation, on by default on the OS's file
// system): a segment's file is filled with zeros up to the segment size,
// and fsynced, before appends reach it, so the fdatasync that
// acknowledges a group writes data blocks only. An append that grows the
// file also changes its size, which the file system must commit to its
// journal, shared with every other process fsyncing on that file system:
// measured on this machine's ext4 with other benchmarks running, an
// fdatasync of 100 KB appended had p50 0.6-1.1 ms and p99 77-171 ms, of
// 100 KB overwritten in place 0.4-0.6 ms and 38-52 ms. The next segment's
// file (spare.tmp) is zero-filled in the background once the current one
// is half full, and renamed into place when appends move to it (if it is
// not ready then, the segment is created empty, as without
// preallocation); a store that is only opened to be read (export, report)
// never writes one. On the OS's file system the zeros are written with
// O_DIRECT (zeroFillDirect: no page-cache copy, half the CPU per MiB;
// the blocks are written, not unwritten extents, which
// TestZeroFillDirectWritesBlocks checks), and appends into them write
// whole pages (writeFrames), since their pages are not cached. The zeros
// after the last record of the last segment are not a torn write: Open
// keeps them as they are.
const (
	segDirName    = "segments"
	segMagic      = "LGSEG\x00\x00\x01"
	idxMagic      = "LGSIDX\x00\x01"
	segHeaderSize = 24
	idxHeaderSize = 16
	idxEntrySize  = 8
	// recordPrefix is the payload's fixed part before the leaf: seq and
	// leaf hash.
	recordPrefix = 8 + 32
	// frameOverhead is what a record adds to its leaf on disk.
	frameOverhead = durable.FrameHeaderSize + recordPrefix
)

// SegmentCorruptError reports a segment or index file whose content
// contradicts what the store committed: a frame that fails its checksum or
// holds the wrong seq where an acknowledged event must be, a bad header, a
// missing file or a gap between segments. Path names the file and Offset
// where in it the damage is. The store refuses to open rather than drop
// what follows, and reads return it for a record that fails its check.
type SegmentCorruptError struct {
	Path   string
	Offset int64
	Reason string
}

// Error implements error.
func (e *SegmentCorruptError) Error() string {
	return fmt.Sprintf("store: segment file %s is corrupt at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// segment is one segment file and its index. The last segment's files
// stay open (read-write: the appender writes through WriteAt at its
// offsets, and holds a reference until the next segment starts); the
// files of older segments are opened by the readers that need them and
// closed when the last of those is done, so a long log does not hold two
// descriptors per segment.
type segment struct {
	first   uint64
	path    string
	idxPath string
	fs      vfs.FS

	mu   sync.Mutex
	refs int      // readers and (for the last segment) the appender
	f    vfs.File // open while refs > 0
	idx  vfs.File
}

// acquire opens the segment's files for reading unless they are open, and
// counts the caller as a user until release.
func (s *segment) acquire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 {
		f, err := s.fs.Open(s.path)
		if err != nil {
			return &SegmentCorruptError{Path: s.path, Reason: fmt.Sprintf("open: %v", err)}
		}
		idx, err := s.fs.Open(s.idxPath)
		if err != nil {
			_ = f.Close()
			return &SegmentCorruptError{Path: s.idxPath, Reason: fmt.Sprintf("open: %v", err)}
		}
		s.f, s.idx = f, idx
	}
	s.refs++
	return nil
}

// release ends a use; the last one closes the files.
func (s *segment) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	if s.refs == 0 {
		s.closeFiles()
	}
}

// segLog is the append-only event log in segment files. Readers find
// segments through segs (an immutable slice replaced when a segment is
// added); everything else is owned by the appender goroutine.
type segLog struct {
	fs       vfs.FS
	dir      string
	max      int64 // start a new segment once the last one is this large
	prealloc bool  // zero-fill segment files ahead of appends

	// The spare segment file: spareIdle, spareFilling (its goroutine
	// runs) or spareReady (zero-filled and fsynced, for the next roll).
	spare     atomic.Int32
	spareDone sync.WaitGroup
	closing   atomic.Bool

	segs atomic.Pointer[[]*segment]

	// Appender-owned: the last segment's end offset and record count.
	end    int64
	count  uint64
	idxBuf []byte
	// Appender-owned, for writes of whole pages (writeFrames): the last
	// segment's bytes from the start of end's page up to end, and how far
	// its file holds zeros (fsynced by preallocation) from end on; zeroTo
	// <= end when it holds none.
	tail   []byte
	zeroTo int64
	wbuf   []byte // writeFrames' copy where it cannot write a vector
}

const (
	spareIdle int32 = iota
	spareFilling
	spareReady
	spareFailed // not tried again before the next segment starts
)

// spareName is the spare segment file's name; ".tmp" files are removed at
// open, so a spare a crash left behind is never mistaken for a segment.
const spareName = "spare.tmp"

// zeroChunk is how much of a file preallocation writes at a time.
const zeroChunk = 1 << 20

// zeroFill writes zeros to f from offset from up to size, then fsyncs it.
// stop, checked between chunks, abandons the fill.
func zeroFill(f vfs.File, from, size int64, stop func() bool) error {
	zero := make([]byte, min(zeroChunk, max(size-from, 0)))
	for at := from; at < size; at += int64(len(zero)) {
		if stop() {
			return errors.New("store: zero-fill abandoned")
		}
		n := min(int64(len(zero)), size-at)
		if _, err := f.WriteAt(zero[:n], at); err != nil {
			return err
		}
	}
	return f.Sync()
}

// startSpare zero-fills the spare segment file in the background unless a
// spare is ready or being filled. Called by the appender only.
func (l *segLog) startSpare() {
	if !l.prealloc || !l.spare.CompareAndSwap(spareIdle, spareFilling) {
		return
	}
	l.spareDone.Add(1)
	go func() {
		defer l.spareDone.Done()
		err := l.fillSpare(l.fs.PathJoin(l.dir, spareName))
		if err != nil {
			if !l.closing.Load() {
				log.Printf("store: preparing the next segment file: %v (it will be created when needed)", err)
				// Give back what it took (the disk may be full).
				_ = l.fs.Remove(l.fs.PathJoin(l.dir, spareName))
			}
			l.spare.Store(spareFailed)
			return
		}
		l.spare.Store(spareReady)
	}()
}

// errDirectRefused says the file system refused O_DIRECT writes.
var errDirectRefused = errors.New("store: O_DIRECT refused")

// fillSpare creates the spare segment file at path, zero-filled up to
// the segment size and fsynced: with O_DIRECT writes on the OS's file
// system (zeroFillDirect, far less CPU), else, or where that refuses
// O_DIRECT, with buffered ones through l.fs.
func (l *segLog) fillSpare(path string) error {
	if l.fs == vfs.Default {
		err := zeroFillDirect(path, l.max, l.closing.Load)
		if !errors.Is(err, errDirectRefused) {
			return err
		}
	}
	f, err := l.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	defer f.Close()
	return zeroFill(f, 0, l.max, l.closing.Load)
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func segName(first uint64, ext string) string {
	return fmt.Sprintf("%020d.%s", first, ext)
}

// parseSegName returns the first seq of a "<20 digits>.seg" name.
func parseSegName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, ".seg")
	if !ok || len(base) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

func segHeader(first uint64) []byte {
	h := make([]byte, segHeaderSize)
	copy(h, segMagic)
	binary.BigEndian.PutUint64(h[8:16], first)
	binary.BigEndian.PutUint32(h[16:20], crc32.Checksum(h[:16], castagnoli))
	return h
}

func idxHeader(first uint64) []byte {
	h := make([]byte, idxHeaderSize)
	copy(h, idxMagic)
	binary.BigEndian.PutUint64(h[8:16], first)
	return h
}

// checkSegHeader says why h is not the header of the segment starting at
// first, or "".
func checkSegHeader(h []byte, first uint64) string {
	switch {
	case len(h) < segHeaderSize:
		return "segment header is torn"
	case string(h[:8]) != segMagic:
		return fmt.Sprintf("not a segment file of this format (header %q)", h[:8])
	case crc32.Checksum(h[:16], castagnoli) != binary.BigEndian.Uint32(h[16:20]):
		return "segment header checksum mismatch"
	case binary.BigEndian.Uint64(h[8:16]) != first:
		return fmt.Sprintf("header names first seq %d", binary.BigEndian.Uint64(h[8:16]))
	}
	return ""
}

// scanSegment walks the frames of a segment's body (data after the
// header; base is its offset in the file) and returns the offsets (in the
// file) of the first want records, which must be whole, valid and hold
// seqs first, first+1, ...: they were acknowledged. Whatever follows them
// was never acknowledged (a torn or unfinished write) and is not looked
// at. end is the offset just past the last wanted record.
func scanSegment(path string, base int64, data []byte, first, want uint64) (offsets []int64, end int64, err error) {
	offsets = make([]int64, 0, min(want, uint64(len(data)/frameOverhead+1)))
	at := 0
	for k := uint64(0); k < want; k++ {
		p, ok, why := durable.ParseFrame(data[at:])
		if !ok {
			return nil, 0, &SegmentCorruptError{Path: path, Offset: base + int64(at), Reason: fmt.Sprintf("acknowledged event seq %d: %s", first+k, why)}
		}
		if len(p) < recordPrefix {
			return nil, 0, &SegmentCorruptError{Path: path, Offset: base + int64(at), Reason: fmt.Sprintf("record of %d bytes is shorter than seq and leaf hash", len(p))}
		}
		if got := binary.BigEndian.Uint64(p[:8]); got != first+k {
			return nil, 0, &SegmentCorruptError{Path: path, Offset: base + int64(at), Reason: fmt.Sprintf("record holds seq %d, want %d", got, first+k)}
		}
		offsets = append(offsets, base+int64(at))
		at += durable.FrameHeaderSize + len(p)
	}
	return offsets, base + int64(at), nil
}

// openSegLog opens the segment files in dir/segments for a log whose
// checkpoint says committed events are durable: it checks the segment
// chain, rebuilds the last segment's index from its frames, cuts off
// anything after the last committed record (never acknowledged), and
// creates the first segment of a new log. It refuses (*SegmentCorruptError)
// when an acknowledged record is missing or damaged.
func openSegLog(fs vfs.FS, dir string, committed uint64, maxBytes int64, prealloc bool) (l *segLog, err error) {
	l = &segLog{fs: fs, dir: fs.PathJoin(dir, segDirName), max: maxBytes, prealloc: prealloc}
	if err := fs.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	// The folder's own entry must be durable before any segment in it is.
	if err := syncDir(fs, dir); err != nil {
		return nil, err
	}
	names, err := fs.List(l.dir)
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			// A cut of a torn tail a crash interrupted: the original is
			// still in place.
			if err := fs.Remove(fs.PathJoin(l.dir, n)); err != nil {
				return nil, err
			}
			continue
		}
		if first, ok := parseSegName(n); ok {
			firsts = append(firsts, first)
		}
	}
	slices.Sort(firsts)
	var segs []*segment
	defer func() {
		if err != nil {
			for _, s := range segs {
				s.close()
			}
		}
	}()

	if len(firsts) == 0 {
		if committed > 0 {
			return nil, &SegmentCorruptError{Path: l.dir, Reason: fmt.Sprintf("no segment files, but the checkpoint holds %d events", committed)}
		}
		s, err := l.create(0)
		if err != nil {
			return nil, err
		}
		segs = append(segs, s)
		l.segs.Store(&segs)
		return l, nil
	}
	if firsts[0] != 0 {
		return nil, &SegmentCorruptError{Path: l.path(firsts[0], "seg"), Reason: "the log's first segment does not start at seq 0"}
	}
	for i, first := range firsts {
		last := i == len(firsts)-1
		// A segment may start past the checkpoint: the checkpoint is
		// fsynced after the records it covers (see indexsync.go), and
		// the segment chain itself says which records follow it.
		if !last {
			s, err := l.openSealed(first, firsts[i+1])
			if err != nil {
				return nil, err
			}
			segs = append(segs, s)
			continue
		}
		s, err := l.recoverLast(first, committed)
		if err != nil {
			return nil, err
		}
		segs = append(segs, s)
	}
	l.segs.Store(&segs)
	return l, nil
}

func (l *segLog) path(first uint64, ext string) string {
	return l.fs.PathJoin(l.dir, segName(first, ext))
}

// openSealed opens a segment followed by another: it holds exactly
// next-first records, and its index, fsynced when the next segment
// started, lists them. An index that does not (a crash between writing
// the next segment's files and syncing the directory cannot cause this,
// but a copied store might) is rebuilt from the frames.
func (l *segLog) openSealed(first, next uint64) (*segment, error) {
	s := &segment{first: first, path: l.path(first, "seg"), idxPath: l.path(first, "idx"), fs: l.fs}
	var err error
	if s.f, err = l.fs.Open(s.path); err != nil {
		return nil, err
	}
	// The files are opened to be checked here and again by readers.
	defer s.closeFiles()
	h := make([]byte, segHeaderSize)
	if _, err := s.f.ReadAt(h, 0); err != nil && !errors.Is(err, io.EOF) {
		s.close()
		return nil, err
	}
	if why := checkSegHeader(h, first); why != "" {
		s.close()
		return nil, &SegmentCorruptError{Path: s.path, Reason: why}
	}
	want := int64(idxHeaderSize) + int64(next-first)*idxEntrySize
	s.idx, err = l.fs.Open(s.idxPath)
	if err == nil {
		st, serr := s.idx.Stat()
		ih := make([]byte, idxHeaderSize)
		_, rerr := s.idx.ReadAt(ih, 0)
		if serr == nil && rerr == nil && st.Size() == want && bytes.Equal(ih, idxHeader(first)) {
			return s, nil
		}
		_ = s.idx.Close()
		s.idx = nil
	}
	log.Printf("store: rebuilding index %s from its segment", s.idxPath)
	data, err := readAll(l.fs, s.path)
	if err != nil {
		s.close()
		return nil, err
	}
	offsets, _, err := scanSegment(s.path, segHeaderSize, data[segHeaderSize:], first, next-first)
	if err != nil {
		s.close()
		return nil, err
	}
	if err := l.writeIndex(first, offsets); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// recoverLast opens the last segment for appending: its records up to the
// committed size (the checkpoint in Pebble) must be whole and valid; the
// whole, valid records that follow them in seq order are kept (they were
// fsynced, perhaps acknowledged, before a crash overtook the checkpoint,
// and recover replays them into the indexes); what follows those (a torn
// write, never acknowledged) is cut off; its index is rewritten from the
// frames.
func (l *segLog) recoverLast(first, committed uint64) (*segment, error) {
	path := l.path(first, "seg")
	data, err := readAll(l.fs, path)
	if err != nil {
		return nil, err
	}
	var want uint64 // records the checkpoint covers
	if committed > first {
		want = committed - first
	}
	if why := checkSegHeader(data, first); why != "" {
		if want > 0 || len(data) >= segHeaderSize {
			return nil, &SegmentCorruptError{Path: path, Reason: why}
		}
		// Its creation was cut short before it held anything: start it
		// again.
		log.Printf("store: %s: %s; creating it again", path, why)
		return l.create(first)
	}
	offsets, end, err := scanSegment(path, segHeaderSize, data[segHeaderSize:], first, want)
	if err != nil {
		return nil, err
	}
	offsets, end = scanWhole(data, offsets, end, first)
	want = uint64(len(offsets))
	zeroTail := l.prealloc && allZero(data[end:])
	// Kept before replace, whose vfs.File.Write may modify what it writes.
	l.tail = append(l.tail[:0], data[end&^(pageSize-1):end]...)
	l.zeroTo = int64(len(data))
	if end < int64(len(data)) && !zeroTail {
		l.zeroTo = end
		log.Printf("store: %s: cutting %d bytes at offset %d after the last whole record (seq %d): a write a crash interrupted (never acknowledged unless the store ran WithAckAfterSegment)", path, int64(len(data))-end, end, first+want-1)
		if err := l.replace(path, data[:end]); err != nil {
			return nil, err
		}
	}
	if err := l.writeIndex(first, offsets); err != nil {
		return nil, err
	}
	s := &segment{first: first, path: path, idxPath: l.path(first, "idx"), fs: l.fs, refs: 1}
	if s.f, err = l.fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified); err != nil {
		return nil, err
	}
	if s.idx, err = l.fs.OpenReadWrite(s.idxPath, vfs.WriteCategoryUnspecified); err != nil {
		s.close()
		return nil, err
	}
	// The records kept may have been written but not fsynced (a kill -9
	// during the group's fsync): make them durable before anything (the
	// replayed checkpoint, a batch) is derived from them.
	if err := s.f.Sync(); err != nil {
		s.close()
		return nil, err
	}
	l.end, l.count = end, want
	return s, nil
}

// scanWhole extends offsets (the records of the segment starting at first
// found up to end in data, the whole file) with the whole, valid records
// that follow in seq order, and returns them with the offset just past the
// last. It stops at the first frame that is torn, fails its checksum or
// holds another seq.
func scanWhole(data []byte, offsets []int64, end int64, first uint64) ([]int64, int64) {
	for {
		p, ok, _ := durable.ParseFrame(data[end:])
		if !ok || len(p) < recordPrefix || binary.BigEndian.Uint64(p[:8]) != first+uint64(len(offsets)) {
			return offsets, end
		}
		offsets = append(offsets, end)
		end += int64(durable.FrameHeaderSize + len(p))
	}
}

// size is the number of records in the log: the next seq to append.
func (l *segLog) size() uint64 {
	segs := *l.segs.Load()
	return segs[len(segs)-1].first + l.count
}

// replace writes content to path atomically: a temporary file, fsynced,
// renamed over path, and the directory fsynced.
func (l *segLog) replace(path string, content []byte) error {
	tmp := path + ".tmp"
	f, err := l.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := l.fs.Rename(tmp, path); err != nil {
		return err
	}
	return l.syncDir()
}

// writeIndex writes the index of the segment starting at first, fsynced.
func (l *segLog) writeIndex(first uint64, offsets []int64) error {
	buf := idxHeader(first)
	for _, o := range offsets {
		buf = binary.BigEndian.AppendUint64(buf, uint64(o))
	}
	return l.replace(l.path(first, "idx"), buf)
}

func (l *segLog) syncDir() error { return syncDir(l.fs, l.dir) }

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// create makes the empty segment starting at first and its index, both
// fsynced with the directory, and makes it the one appends go to.
func (l *segLog) create(first uint64) (*segment, error) {
	s := &segment{first: first, path: l.path(first, "seg"), idxPath: l.path(first, "idx"), fs: l.fs, refs: 1}
	l.spare.CompareAndSwap(spareFailed, spareIdle) // try again for the next one
	zeroTo := int64(0)
	if l.spare.CompareAndSwap(spareReady, spareIdle) {
		zeroTo = l.max
		// The zero-filled spare becomes the segment: its header, fsynced,
		// then its name (the directory is fsynced below). The header is
		// written as a whole page (its zeros are on disk already), so the
		// write need not read the page back first (see writeFrames).
		spare := l.fs.PathJoin(l.dir, spareName)
		f, err := l.fs.OpenReadWrite(spare, vfs.WriteCategoryUnspecified)
		if err == nil {
			s.f = f
			page := make([]byte, min(pageSize, l.max))
			copy(page, segHeader(first))
			if _, err = f.WriteAt(page, 0); err == nil {
				if err = f.Sync(); err == nil {
					err = l.fs.Rename(spare, s.path)
				}
			}
		}
		if err != nil {
			s.close()
			return nil, err
		}
	} else if err := l.createWithHeader(s.path, segHeader(first), &s.f); err != nil {
		s.close()
		return nil, err
	}
	if err := l.createWithHeader(s.idxPath, idxHeader(first), &s.idx); err != nil {
		s.close()
		return nil, err
	}
	if err := l.syncDir(); err != nil {
		s.close()
		return nil, err
	}
	l.end, l.count, l.zeroTo = segHeaderSize, 0, zeroTo
	l.tail = append(l.tail[:0], segHeader(first)...)
	return s, nil
}

// createWithHeader creates the file at path, sets *dst to it (so the
// caller's close reaches it on failure), writes head and fsyncs it.
func (l *segLog) createWithHeader(path string, head []byte, dst *vfs.File) error {
	f, err := l.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	*dst = f
	if _, err := f.WriteAt(head, 0); err != nil {
		return err
	}
	return f.Sync()
}

// write appends a group's frames (first holds seq firstSeq; starts are
// the frames' offsets in frames) to the last segment, starting a new one
// first when the last is full, writes their index entries, and fsyncs the
// segment. The index is not fsynced: the last segment's is rebuilt at
// open. Any error is fatal to the store.
func (l *segLog) write(firstSeq uint64, frames []byte, starts []int) error {
	segs := *l.segs.Load()
	cur := segs[len(segs)-1]
	if l.end >= l.max && l.count > 0 {
		// The full segment's index becomes the durable one readers and
		// a restart use.
		if err := cur.idx.Sync(); err != nil {
			return err
		}
		next, err := l.create(firstSeq)
		if err != nil {
			return err
		}
		grown := append(slices.Clip(segs), next)
		l.segs.Store(&grown)
		cur.release() // the appender's reference: readers reopen it read-only
		cur = next
	}
	if firstSeq != cur.first+l.count {
		return fmt.Errorf("store: appending seq %d to segment %s holding %d records", firstSeq, cur.path, l.count)
	}
	l.idxBuf = l.idxBuf[:0]
	for _, st := range starts {
		l.idxBuf = binary.BigEndian.AppendUint64(l.idxBuf, uint64(l.end+int64(st)))
	}
	if err := l.writeFrames(cur.f, frames); err != nil {
		var pe *os.PathError
		if !errors.As(err, &pe) {
			// pwritev's bare errno: name the file, as WriteAt's error does.
			err = &os.PathError{Op: "pwritev", Path: cur.path, Err: err}
		}
		return err
	}
	if _, err := cur.idx.WriteAt(l.idxBuf, idxHeaderSize+int64(l.count)*idxEntrySize); err != nil {
		return err
	}
	if err := cur.f.SyncData(); err != nil {
		return err
	}
	l.end += int64(len(frames))
	l.count += uint64(len(starts))
	l.keepTail(frames)
	if l.end >= l.max/2 {
		// Half full: fill the next segment's file in the background, so
		// it is ready by the time appends move to it.
		l.startSpare()
	}
	return nil
}

// pageSize is the unit of writeFrames' whole-page writes: the page
// cache's page and the file system's block on x86-64 Linux with ext4 or
// xfs. On a kernel with larger pages (16 or 64 KiB on some arm64 and
// ppc64le systems) writes stay correct (every byte written besides the
// frames equals what the file holds), but a group's last page may be read
// back from disk again, as before whole-page writes.
const pageSize = 4096

// zeroPage is the padding writeFrames takes its zeros from.
var zeroPage [pageSize]byte

// writeFrames writes frames at the end of the last segment, f. Into a
// preallocated file it writes whole pages: from the start of the end's
// page (its prefix, l.tail, rewritten from memory) to the end of the
// frames' last page (padded with the zeros the file already holds there),
// so a buffered write never has to read a page back from disk first; the
// zeros were written with O_DIRECT (zeroFillDirect), so no page of theirs
// is cached. Every byte it writes besides the frames equals the one on
// disk, so a torn write can damage nothing but the frames, as before.
// Past the zeros, or without them, it writes the frames alone.
func (l *segLog) writeFrames(f vfs.File, frames []byte) error {
	if l.end >= l.zeroTo {
		_, err := f.WriteAt(frames, l.end)
		return err
	}
	end := l.end + int64(len(frames))
	pad := max(min((end+pageSize-1)&^(pageSize-1), l.zeroTo)-end, 0)
	at := l.end - int64(len(l.tail))
	if vectoredWrites && l.fs == vfs.Default {
		if fd := f.Fd(); fd != vfs.InvalidFd {
			return pwritev(fd, [][]byte{l.tail, frames, zeroPage[:pad]}, at)
		}
	}
	l.wbuf = append(append(append(l.wbuf[:0], l.tail...), frames...), zeroPage[:pad]...)
	_, err := f.WriteAt(l.wbuf, at)
	return err
}

// keepTail updates l.tail once frames were written up to l.end.
func (l *segLog) keepTail(frames []byte) {
	n := int(l.end % pageSize)
	if n <= len(frames) {
		l.tail = append(l.tail[:0], frames[len(frames)-n:]...)
		return
	}
	// The frames end in the page they started in, after the old tail.
	l.tail = append(l.tail, frames...)
}

// find returns the segment holding seq (which the caller bounds by the
// durable size) and the next segment's first seq (max uint64 for the
// last).
func (l *segLog) find(seq uint64) (*segment, uint64) {
	segs := *l.segs.Load()
	i, _ := slices.BinarySearchFunc(segs, seq, func(s *segment, seq uint64) int {
		switch {
		case s.first < seq:
			return -1
		case s.first > seq:
			return 1
		}
		return 0
	})
	if i == len(segs) || segs[i].first > seq {
		i--
	}
	next := ^uint64(0)
	if i+1 < len(segs) {
		next = segs[i+1].first
	}
	return segs[i], next
}

// offsets reads the index entries of seqs [from, to) of s.
func (s *segment) offsets(from, to uint64) ([]int64, error) {
	buf := make([]byte, (to-from)*idxEntrySize)
	at := idxHeaderSize + int64(from-s.first)*idxEntrySize
	if _, err := s.idx.ReadAt(buf, at); err != nil {
		return nil, &SegmentCorruptError{Path: s.idxPath, Offset: at, Reason: fmt.Sprintf("index entries of seqs %d..%d: %v", from, to-1, err)}
	}
	out := make([]int64, to-from)
	for i := range out {
		out[i] = int64(binary.BigEndian.Uint64(buf[i*idxEntrySize:]))
	}
	return out, nil
}

// frameEnd reads the header of the frame at off and returns its end.
func (s *segment) frameEnd(off int64) (int64, error) {
	var h [durable.FrameHeaderSize]byte
	if _, err := s.f.ReadAt(h[:], off); err != nil {
		return 0, &SegmentCorruptError{Path: s.path, Offset: off, Reason: fmt.Sprintf("frame header: %v", err)}
	}
	n := binary.LittleEndian.Uint32(h[:4])
	if n > durable.MaxRecord || n < recordPrefix {
		return 0, &SegmentCorruptError{Path: s.path, Offset: off, Reason: fmt.Sprintf("frame length %d out of range", n)}
	}
	return off + durable.FrameHeaderSize + int64(n), nil
}

// record is one stored event as read back: its seq, leaf hash and leaf
// (canonical bytes), checked against the frame's checksum.
type record struct {
	seq  uint64
	hash [32]byte
	leaf []byte
}

// readRange reads the records [from, to) (all below the durable size) and
// calls fn with each in order; leaf aliases a buffer shared by the range
// that fn may keep. Each segment's part costs three reads: its index
// entries, the last frame's header, and the frames.
func (l *segLog) readRange(from, to uint64, fn func(record) error) error {
	for from < to {
		s, next := l.find(from)
		hi := min(to, next)
		if err := s.acquire(); err != nil {
			return err
		}
		err := s.readPart(from, hi, fn)
		s.release()
		if err != nil {
			return err
		}
		from = hi
	}
	return nil
}

// readPart is readRange's part in segment s, whose files the caller holds
// open.
func (s *segment) readPart(from, hi uint64, fn func(record) error) error {
	{
		offs, err := s.offsets(from, hi)
		if err != nil {
			return err
		}
		end, err := s.frameEnd(offs[len(offs)-1])
		if err != nil {
			return err
		}
		start := offs[0]
		if end <= start || end-start > int64(hi-from)*(durable.MaxRecord+durable.FrameHeaderSize) {
			return &SegmentCorruptError{Path: s.idxPath, Offset: idxHeaderSize + int64(from-s.first)*idxEntrySize, Reason: "index entries out of order"}
		}
		buf := make([]byte, end-start)
		if _, err := s.f.ReadAt(buf, start); err != nil {
			return &SegmentCorruptError{Path: s.path, Offset: start, Reason: fmt.Sprintf("reading seqs %d..%d: %v", from, hi-1, err)}
		}
		at := int64(0)
		for k, off := range offs {
			seq := from + uint64(k)
			if off-start != at {
				return &SegmentCorruptError{Path: s.idxPath, Offset: idxHeaderSize + int64(seq-s.first)*idxEntrySize, Reason: fmt.Sprintf("index gives offset %d for seq %d, frames give %d", off, seq, start+at)}
			}
			p, ok, why := durable.ParseFrame(buf[at:])
			if !ok {
				return &SegmentCorruptError{Path: s.path, Offset: off, Reason: fmt.Sprintf("event seq %d: %s", seq, why)}
			}
			if len(p) < recordPrefix || binary.BigEndian.Uint64(p[:8]) != seq {
				return &SegmentCorruptError{Path: s.path, Offset: off, Reason: fmt.Sprintf("frame does not hold event seq %d", seq)}
			}
			r := record{seq: seq, leaf: p[recordPrefix:len(p):len(p)]}
			copy(r.hash[:], p[8:recordPrefix])
			if err := fn(r); err != nil {
				return err
			}
			at += durable.FrameHeaderSize + int64(len(p))
		}
	}
	return nil
}

// read returns the record at seq.
func (l *segLog) read(seq uint64) (record, error) {
	var out record
	err := l.readRange(seq, seq+1, func(r record) error { out = r; return nil })
	return out, err
}

// close closes the segment's files whoever uses them: on errors while
// opening, and when the whole log closes (no reader is left then).
func (s *segment) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs = 0
	s.closeFiles()
}

func (s *segment) closeFiles() {
	if s.f != nil {
		_ = s.f.Close()
	}
	if s.idx != nil {
		_ = s.idx.Close()
	}
	s.f, s.idx = nil, nil
}

// close closes every segment file, once a spare being filled is abandoned.
func (l *segLog) close() {
	l.closing.Store(true)
	l.spareDone.Wait()
	if p := l.segs.Load(); p != nil {
		for _, s := range *p {
			s.close()
		}
	}
}

// readAll reads a whole file through fs.
func readAll(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, st.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf, nil
}
