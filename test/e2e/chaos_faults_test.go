package e2e

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// restartServing starts the gateway process again after a kill and waits
// (bounded) until its HTTP server answers, whatever /readyz says: during a
// ledger outage a restarted gateway is rightly not ready (backpressure,
// stale ledger contact) yet must take events again.
func (g *gatewayProc) restartServing() {
	g.t.Helper()
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		g.t.Fatal(err)
	}
	g.cmd = exec.Command(gatewayBinary(g.t), "gateway", "--config", g.config)
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	exited := make(chan struct{})
	g.exited = exited
	cmd := g.cmd
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			g.t.Fatalf("gateway exited at start-up:\n%s", tail(g.log(), 40))
		default:
		}
		if resp, err := http.Get(g.url + "/readyz"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.t.Fatalf("gateway did not serve HTTP within 60s:\n%s", tail(g.log(), 40))
}

// alive reports whether the gateway process still runs.
func (g *gatewayProc) alive() bool {
	select {
	case <-g.exited:
		return false
	default:
		return true
	}
}

// readyz returns the body of /readyz ("" when the gateway does not answer).
func (g *gatewayProc) readyz() string {
	resp, err := http.Get(g.url + "/readyz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// smallDisk is a size-limited file system (tmpfs) mounted on a folder the
// test creates, so the store can be driven into ENOSPC without touching
// any other file system. Mounting needs root; mountSmallDisk returns nil
// (and says why) where it cannot mount.
type smallDisk struct {
	dir    string
	filler string
}

func mountSmallDisk(t *testing.T, size string) *smallDisk {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Log("not root: the disk-full fault is skipped (it mounts a small tmpfs)")
		return nil
	}
	dir, err := os.MkdirTemp("", "lg-chaos-disk")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Logf("mount tmpfs on %s: %v %s: the disk-full fault is skipped", dir, err, out)
		_ = os.Remove(dir)
		return nil
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			return
		}
		_ = os.Remove(dir)
	})
	return &smallDisk{dir: dir, filler: filepath.Join(dir, "filler")}
}

// fill writes a file until the file system answers ENOSPC, leaving no
// free byte, and returns how much it wrote.
func (d *smallDisk) fill() (int64, error) {
	f, err := os.OpenFile(d.filler, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for _, chunk := range []int{4 << 20, 64 << 10, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			n, err := f.Write(buf)
			total += int64(n)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

func (d *smallDisk) restore() error { return os.Remove(d.filler) }
