package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/transparency-dev/merkle/rfc6962"
)

const (
	killChildEnv   = "LEDGERGUARD_STORE_KILL_CHILD_DIR"
	killStartEnv   = "LEDGERGUARD_STORE_KILL_CHILD_START"
	killBatchSize  = 200
	killAppenders  = 4
	killReqEvents  = 50
	killMaxReqs    = 3000 // per appender: the child stops by itself if never killed
	killRounds     = 5
	killMinRunTime = 50 * time.Millisecond
	killMaxRunTime = 250 * time.Millisecond
	// Small segments, so kills land before, during and after a segment
	// roll as well as in the middle of group commits.
	killSegmentBytes = 128 << 10
)

// TestKillChild is the child process of TestKill9: it appends on the real
// file system until killed, printing what was acknowledged. It does nothing
// in a normal test run.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("child process of TestKill9 only")
	}
	start, _ := strconv.Atoi(os.Getenv(killStartEnv))
	ctx := context.Background()
	s, err := Open(ctx, dir, WithGateway(testMSP, testGW), WithBatchMaxEvents(killBatchSize), WithBatchMaxWait(30*time.Millisecond), WithSegmentBytes(killSegmentBytes))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	emit := func(b []byte) {
		out.Lock()
		defer out.Unlock()
		// One write per acknowledgement: what reached the pipe was
		// acknowledged before it was written.
		if _, err := os.Stdout.Write(b); err != nil {
			os.Exit(3)
		}
	}
	var wg sync.WaitGroup
	for g := range killAppenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for k := range killMaxReqs {
				got, err := s.Append(ctx, testEvents(start+g*1_000_000+k*killReqEvents, killReqEvents, 500))
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(4)
				}
				buf = buf[:0]
				for _, e := range got {
					buf = fmt.Appendf(buf, "A %d %s\n", e.Seq, e.ID)
				}
				emit(buf)
				if g == 0 && k%5 == 0 {
					p, err := s.PendingBatches(ctx)
					if err != nil || len(p) == 0 {
						continue
					}
					tx := "tx-" + p[0].ID[:16]
					if err := s.MarkAnchored(ctx, p[0].ID, tx, uint64(k)); err != nil {
						fmt.Fprintln(os.Stderr, "mark:", err)
						os.Exit(5)
					}
					emit(fmt.Appendf(nil, "M %s %s %d\n", p[0].ID, tx, k))
				}
			}
		}()
	}
	wg.Wait()
	_ = s.Close()
}

// TestKill9 runs the store in a child process, kills it with SIGKILL at a
// random moment, reopens the store and checks that every acknowledged event
// is at its seq, every acknowledged MarkAnchored stuck, the batches tile the
// log under its roots, proofs verify, and appending resumes at Size(); the
// segment files' torn tails are cut and rolls survive the kill. Each
// round's events overlap the previous round's, so retries of events stored
// before a crash are deduplicated across it.
func TestKill9(t *testing.T) {
	if os.Getenv(killChildEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked := map[uint64]string{}
	anchored := map[string]string{}
	rounds := killRounds
	if raceEnabled {
		rounds = 2
	}
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir, killStartEnv+"="+strconv.Itoa(round*2000))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			r := bufio.NewReader(stdout)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					// A line cut by the kill has no newline: not an ack.
					if err != io.EOF {
						t.Errorf("reading child: %v", err)
					}
					close(lines)
					return
				}
				lines <- l
			}
		}()
		// Kill at a random moment after the first acknowledgement.
		first, ok := <-lines
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("round %d: child acknowledged nothing; stderr:\n%s", round, stderr.String())
		}
		time.Sleep(killMinRunTime + time.Duration(rng.Int64N(int64(killMaxRunTime-killMinRunTime))))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		var all []string
		all = append(all, first)
		for l := range lines {
			all = append(all, l)
		}
		<-readDone
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Logf("round %d: child was not killed (%v); stderr:\n%s", round, err, stderr.String())
		}
		roundAcked := 0
		for _, l := range all {
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "A":
				seq, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					t.Fatalf("bad line %q", l)
				}
				if prev, ok := acked[seq]; ok && prev != f[2] {
					t.Fatalf("seq %d acknowledged as %s and as %s", seq, prev, f[2])
				}
				acked[seq] = f[2]
				roundAcked++
			case len(f) == 4 && f[0] == "M":
				anchored[f[1]] = f[2]
			default:
				t.Fatalf("bad line %q", l)
			}
		}

		s, err := Open(context.Background(), dir, WithGateway(testMSP, testGW), WithBatchMaxEvents(killBatchSize), WithSegmentBytes(killSegmentBytes))
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		checkAfterKill(t, s, acked, anchored)
		size := s.Size()
		got, err := s.Append(context.Background(), []gateway.Event{testEvent(50_000_000+round, 500)})
		if err != nil || got[0].Seq != size {
			t.Fatalf("round %d: append after restart = seq %v, %v; want seq %d", round, got, err, size)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d acknowledged events (%d in total), store holds %d in %d segments, %d batches anchored", round, roundAcked, len(acked), size+1, len(*s.log.segs.Load()), len(anchored))
	}
}

func checkAfterKill(t *testing.T, s *Store, acked map[uint64]string, anchored map[string]string) {
	t.Helper()
	ctx := context.Background()
	// Read every leaf's stored bytes once (no JSON decoding: this is about
	// durability, the decoders have their own tests) and check the
	// acknowledged ones hold the acknowledged id at the acknowledged seq.
	size := s.Size()
	leaves := make([][]byte, size)
	var maxSeq uint64
	for seq := range size {
		payload := rawLeaf(t, s, seq)
		leaves[seq] = rfc6962.DefaultHasher.HashLeaf(payload)
		if id, ok := acked[seq]; ok {
			if want := `{"id":"` + id + `","seq":` + strconv.FormatUint(seq, 10) + `,`; !strings.HasPrefix(string(payload), want) {
				t.Fatalf("seq %d holds %.90s, acknowledged %s", seq, payload, id)
			}
		}
	}
	for seq := range acked {
		maxSeq = max(maxSeq, seq)
	}
	if size <= maxSeq {
		t.Fatalf("size %d but seq %d was acknowledged", size, maxSeq)
	}
	// Batches tile the log from 0 without gap, each under its tree's root.
	var at uint64
	for {
		b, ok, err := s.BatchOf(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if b.TreeSizeBefore != at {
			t.Fatalf("batch %s starts at %d, want %d", b.ID, b.TreeSizeBefore, at)
		}
		root, err := s.Root(ctx, b.TreeSizeAfter)
		if err != nil {
			t.Fatal(err)
		}
		if b.RootHash != hexs(root) || b.ID != gateway.BatchID(testMSP, testGW, b.TreeSizeBefore, b.TreeSizeAfter, b.RootHash) {
			t.Fatalf("batch %s does not match the log", b.ID)
		}
		at = b.TreeSizeAfter
	}
	for id, tx := range anchored {
		b, err := s.Batch(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged anchored batch %s: %v", id, err)
		}
		if b.State != gateway.BatchAnchored || b.TxID != tx {
			t.Fatalf("batch %s is %s tx %q, acknowledged anchored by %s", id, b.State, b.TxID, tx)
		}
	}
	pending, err := s.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range pending {
		if _, ok := anchored[b.ID]; ok || b.State != gateway.BatchSealed {
			t.Fatalf("anchored batch %s still pending", b.ID)
		}
	}
	// The whole tree verifies.
	verifyLog(t, s, leaves, []uint64{1, size / 3, at, size})
}
