package store

import (
	"errors"
	"runtime"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// Option configures Open. Each validates its input and returns a
// *ConfigError when it is out of range.
type Option func(*config) error

type config struct {
	fs             vfs.FS
	msp, gatewayID string
	batchMaxEvents uint64
	batchMaxWait   time.Duration
	maxGroupEvents int
	// ageSealWhenAnchored defers sealing by age while a batch waits for
	// the ledger (WithAgeSealWhenAnchored).
	ageSealWhenAnchored bool
	recentLeaves        int // WithRecentLeaves
	recentLeavesBytes   int // WithRecentLeaves
	hashWorkers         int
	models              func() []gateway.ModelRef
	now                 func() time.Time
	memTableSize        uint64
	segmentBytes        int64
	minFreeBytes        uint64
	freeSpace           func(dir string) (uint64, error) // nil: statfs when fs is the OS's
	// testIndexSyncHold is called (tests only) before each fsync of
	// Pebble's WAL off the acknowledgement path (indexSyncer.testHold).
	testIndexSyncHold func() bool
	// testAfterSegment is called (tests only) after a group's segment
	// fsync returned and before its Pebble batch is applied.
	testAfterSegment func()
	// testIDKeysInSeqOrder (tests only) writes a group's id index keys in
	// seq order, as before they were sorted, for the benchmark comparing
	// the two (BenchmarkIDIndexOrder).
	testIDKeysInSeqOrder bool
	// ackAfterSegment (WithAckAfterSegment) acknowledges a group after
	// its segment fsync alone, Pebble's fsync following off the
	// acknowledgement path (indexsync.go).
	ackAfterSegment bool
	readOnly        bool               // WithReadOnly
	preallocate     int8               // WithSegmentPreallocation: 0 default, 1 on, -1 off
	commitObserver  func(CommitTiming) // WithCommitObserver; nil: none
	leavesObserver  func(LeavesRead)   // WithLeavesObserver; nil: none
}

// preallocates says whether segment files are zero-filled ahead of
// appends: as WithSegmentPreallocation says, or by default on the OS's
// file system only (an in-memory one has no journal to spare).
func (c config) preallocates() bool {
	if c.preallocate != 0 {
		return c.preallocate > 0
	}
	return c.fs == vfs.Default
}

// Defaults, chosen for the throughput goal: a batch per 10,000 events or per
// second keeps the ledger at tens of AnchorBatch transactions a second at
// 1M events/s, well under its measured ~1,000 tx/s; a 16,384-event group is
// about 10 MB, a third of Pebble's large-batch threshold at our 64 MiB
// memtable.
const (
	DefaultBatchMaxEvents = 10_000
	DefaultBatchMaxWait   = time.Second
	DefaultMaxGroupEvents = 16_384
	defaultMemTableSize   = 64 << 20
	// DefaultSegmentBytes is the size from which appends go to a new
	// segment file: open reads (and checks) the whole last segment, so
	// this bounds recovery work at about a tenth of a second.
	DefaultSegmentBytes = 64 << 20
)

func defaultConfig() config {
	return config{
		fs:             vfs.Default,
		batchMaxEvents: DefaultBatchMaxEvents,
		batchMaxWait:   DefaultBatchMaxWait,
		maxGroupEvents: DefaultMaxGroupEvents,
		hashWorkers:    runtime.GOMAXPROCS(0),
		now:            time.Now,
		memTableSize:   defaultMemTableSize,
		segmentBytes:   DefaultSegmentBytes,
		minFreeBytes:   DefaultMinFreeBytes,
	}
}

// WithGateway sets the gateway's MSP id and gateway id that every sealed
// batch carries and its batch id commits to. Required.
func WithGateway(msp, gatewayID string) Option {
	return func(c *config) error {
		if msp == "" || gatewayID == "" {
			return &ConfigError{Option: "WithGateway", Err: errors.New("msp and gateway id must be non-empty")}
		}
		c.msp, c.gatewayID = msp, gatewayID
		return nil
	}
}

// WithFS sets the file system Pebble and the segment files use (default:
// the OS). Tests pass an in-memory, crash-simulating or error-injecting
// vfs.FS.
func WithFS(fs vfs.FS) Option {
	return func(c *config) error {
		if fs == nil {
			return &ConfigError{Option: "WithFS", Err: errors.New("nil file system")}
		}
		c.fs = fs
		return nil
	}
}

// WithBatchMaxEvents seals a batch as soon as it holds n events, so batches
// cut by count hold exactly n (default DefaultBatchMaxEvents).
func WithBatchMaxEvents(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return &ConfigError{Option: "WithBatchMaxEvents", Err: errors.New("must be at least 1")}
		}
		c.batchMaxEvents = uint64(n)
		return nil
	}
}

// WithBatchMaxWait seals a non-empty batch once d has passed since its first
// event was appended (default DefaultBatchMaxWait).
func WithBatchMaxWait(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return &ConfigError{Option: "WithBatchMaxWait", Err: errors.New("must be at least 1ms")}
		}
		c.batchMaxWait = d
		return nil
	}
}

// WithRecentLeaves keeps the records of the latest appended events in
// memory (default 0: none), at most n of them and maxBytes of their
// frames (and offsets), so Leaves and HeaderLeaves make a recent range
// without reading it from the segment files: the alerter scores every
// event soon after its batch is sealed. It holds whole group commits, the latest ones
// (older ones are dropped to make room), as the frames the appender
// wrote to the segment files, so leaves made from them are the same as
// from the files and share their bytes instead of copying them. No
// decoded events are held, and a group over the budget alone is read
// from the files instead, so large events (a line may be up to a MiB)
// cannot make the ring hold more than maxBytes. The budget bounds what
// the ring holds, not the process: a leaf a caller keeps keeps its whole
// group's frames alive after the ring has dropped them, so callers keep
// leaves only while they use them (the alerter for a window, the console
// for a request).
func WithRecentLeaves(n, maxBytes int) Option {
	return func(c *config) error {
		if n < 0 || maxBytes < 0 {
			return &ConfigError{Option: "WithRecentLeaves", Err: errors.New("must not be negative")}
		}
		c.recentLeaves, c.recentLeavesBytes = n, maxBytes
		return nil
	}
}

// WithAgeSealWhenAnchored makes sealing by age (WithBatchMaxWait) wait
// while a sealed batch is not yet anchored (default off: a batch is sealed
// when it is due, however many wait for the ledger). The anchor is one
// transaction per batch, in order, so batches sealed faster than the
// ledger commits them queue up and every event waits behind the queue
// (under 10,000 events/s with a 100 ms wait, seconds, growing without
// bound). With it, the open batch keeps growing while the ledger is busy
// and the anchorer seals it (Seal) the moment it is idle: batches adapt to
// the ledger's latency, as a group commit does, and an event waits for at
// most the anchor in flight and its own. Sealing by count is unchanged.
func WithAgeSealWhenAnchored(on bool) Option {
	return func(c *config) error {
		c.ageSealWhenAnchored = on
		return nil
	}
}

// WithMaxGroupEvents caps how many events one group commit (one fsync)
// carries (default DefaultMaxGroupEvents). A single request larger than the
// cap is still committed whole, alone.
func WithMaxGroupEvents(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return &ConfigError{Option: "WithMaxGroupEvents", Err: errors.New("must be at least 1")}
		}
		c.maxGroupEvents = n
		return nil
	}
}

// WithHashWorkers sets how many goroutines hash the leaves of one group in
// parallel (default GOMAXPROCS).
func WithHashWorkers(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return &ConfigError{Option: "WithHashWorkers", Err: errors.New("must be at least 1")}
		}
		c.hashWorkers = n
		return nil
	}
}

// WithModels sets the function called at each seal for the models in force,
// recorded in the batch (default: none).
func WithModels(f func() []gateway.ModelRef) Option {
	return func(c *config) error {
		if f == nil {
			return &ConfigError{Option: "WithModels", Err: errors.New("nil function")}
		}
		c.models = f
		return nil
	}
}

// WithClock sets the clock used for batch windows and AnchoredAt (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return &ConfigError{Option: "WithClock", Err: errors.New("nil clock")}
		}
		c.now = now
		return nil
	}
}

// WithMemTableSize sets Pebble's memtable size in bytes (default 64 MiB);
// tests use a small one to exercise flushes.
func WithMemTableSize(n uint64) Option {
	return func(c *config) error {
		if n < 1<<20 {
			return &ConfigError{Option: "WithMemTableSize", Err: errors.New("must be at least 1 MiB")}
		}
		c.memTableSize = n
		return nil
	}
}

// WithMinFreeBytes sets the free space, in bytes, below which Append
// refuses events with *DiskSpaceError and Open refuses to start (default
// DefaultMinFreeBytes; 0 turns the guard off). The guard reads the store's
// file system with statfs, so it applies when the store is on the OS's
// file system (the default WithFS).
func WithMinFreeBytes(n uint64) Option {
	return func(c *config) error {
		c.minFreeBytes = n
		return nil
	}
}

// WithReadOnly opens the store for reading only: Append refuses with
// ErrReadOnly, and Open does not replay records past Pebble's durable
// checkpoint (a crash between a group's two fsyncs), so a command that
// only reads (export, report) never seals a batch with models or a batch
// size other than the gateway's; it serves what the checkpoint covers,
// and the gateway's next open replays the rest.
func WithReadOnly() Option {
	return func(c *config) error {
		c.readOnly = true
		return nil
	}
}

// WithAckAfterSegment, when on, acknowledges an Append once its records
// are fsynced in the segment file, with Pebble's fsync of the index,
// Merkle nodes and checkpoint that cover them following off the
// acknowledgement path (indexsync.go): one fsync on the path instead of
// two. The price is a narrower corruption guarantee: Open cannot tell a
// damaged record past Pebble's durable checkpoint (the last group or two
// before a crash, acknowledged) from a torn write, so it cuts it there
// and logs file and offset instead of refusing to start. Off by default,
// which keeps "a damaged acknowledged record refuses to start" for every
// record; turn it on where one fsync of tail latency matters more than
// surviving bit rot in the last group before a crash.
func WithAckAfterSegment(on bool) Option {
	return func(c *config) error {
		c.ackAfterSegment = on
		return nil
	}
}

// WithSegmentPreallocation turns on or off zero-filling segment files
// ahead of appends (segment.go says why), which costs writing each
// segment's size in zeros once, off the acknowledgement path, and keeps a
// zero-filled spare segment file on disk. The default is on for the OS's
// file system (WithFS not given) and off otherwise. Turn it off on a
// copy-on-write file system (btrfs, ZFS), where writing over zeros
// allocates anyway.
func WithSegmentPreallocation(on bool) Option {
	return func(c *config) error {
		c.preallocate = -1
		if on {
			c.preallocate = 1
		}
		return nil
	}
}

// WithSegmentBytes sets the size from which appends start a new segment
// file (default DefaultSegmentBytes; at least 4 KiB). A group commit is
// never split, so a segment may exceed it by one group.
func WithSegmentBytes(n int64) Option {
	return func(c *config) error {
		if n < 4<<10 {
			return &ConfigError{Option: "WithSegmentBytes", Err: errors.New("must be at least 4 KiB")}
		}
		c.segmentBytes = n
		return nil
	}
}

// CommitTiming is how long one group commit took, phase by phase: what a
// request's acknowledgement waited for besides its own encoding.
type CommitTiming struct {
	Requests, Events int // in the group (Events: newly stored ones)
	// Queued is how long each request of the group waited between being
	// handed to the appender and the group starting, in group order.
	Queued []time.Duration
	// Prepare is the duplicate check, sequence numbers, framing and leaf
	// hashes; Segment the segment file's write and fsync (running beside
	// the Pebble batch's construction); Index the Pebble commit (its fsync
	// unless WithAckAfterSegment); Total the whole group until acknowledged.
	Prepare, Segment, Index, Total time.Duration
}

// WithCommitObserver calls f, on the appender goroutine, after every group
// commit that stored events, with its timing (for the gateway's metrics).
// f must be quick and must not retain Queued, which is reused.
func WithCommitObserver(f func(CommitTiming)) Option {
	return func(c *config) error {
		c.commitObserver = f
		return nil
	}
}

// LeavesRead describes one Leaves or HeaderLeaves call that returned
// leaves: where they came from and how far behind the end of the log its
// range began, which is what sizes WithRecentLeaves (a reader that lags
// by more than the ring holds reads the segment files).
type LeavesRead struct {
	Events int // leaves returned
	// Behind is the durable tree size when the call began minus the
	// range's first seq: the events appended since the first one read.
	Behind uint64
	// FromMemory is true when WithRecentLeaves' memory held the whole
	// range, false when it was read from the segment files.
	FromMemory bool
}

// WithLeavesObserver calls f after every Leaves or HeaderLeaves call that
// returned leaves (for the gateway's metrics), on the caller's
// goroutine; f must be quick.
func WithLeavesObserver(f func(LeavesRead)) Option {
	return func(c *config) error {
		c.leavesObserver = f
		return nil
	}
}
