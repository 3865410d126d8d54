package store

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkPreallocationCPU weighs ways of preparing a segment file,
// each followed by the appends that fill it (1 MB writes, each
// fdatasynced, as a group commit does), on the real disk (b.TempDir),
// in alternating rounds: "zerofill" is the buffered fallback (zeroFill:
// buffered zero writes, then fsync), "direct" writes the zeros with
// O_DIRECT (no page cache: zeroFillDirect, what the store does where the
// file system allows it), "fallocate" only reserves the blocks
// (unwritten extents, converted on the first write to each, which its
// fdatasync must commit to the journal), "none" lets appends grow the
// file. It reports, per mode, the process CPU time of preparing and of
// appending per MiB and the appends' fdatasync p50. Zero-filling showed
// as 7 % of the gateway's CPU in the ingest bench's profile; this
// measures how much of that the appends would pay anyway.
func BenchmarkPreallocationCPU(b *testing.B) {
	const size, chunk, write = 32 << 20, 1 << 20, 1_000_003
	modes := []string{"zerofill", "direct", "fallocate", "none"}
	prep := make([]time.Duration, len(modes))
	app := make([]time.Duration, len(modes))
	lat := make([][]time.Duration, len(modes))
	dir := b.TempDir()
	data := make([]byte, write)
	for i := range data {
		data[i] = byte(i)
	}
	rounds := 0
	for b.Loop() {
		for j := range modes {
			i := (j + rounds) % len(modes)
			path := filepath.Join(dir, modes[i])
			c0 := processCPU()
			prepareFile(b, modes[i], path, size, chunk)
			c1 := processCPU()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				b.Fatal(err)
			}
			for off := int64(segHeaderSize); off+write <= size; off += write {
				t := time.Now()
				if _, err := f.WriteAt(data, off); err != nil {
					b.Fatal(err)
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
				lat[i] = append(lat[i], time.Since(t))
			}
			app[i] += processCPU() - c1
			prep[i] += c1 - c0
			_ = f.Close()
			_ = os.Remove(path)
		}
		rounds++
	}
	mib := float64(rounds) * size / (1 << 20)
	for i, m := range modes {
		slices.Sort(lat[i])
		b.ReportMetric(float64(prep[i].Microseconds())/mib, m+"-prepare-cpu-us/MiB")
		b.ReportMetric(float64(app[i].Microseconds())/mib, m+"-append-cpu-us/MiB")
		b.ReportMetric(float64(lat[i][len(lat[i])/2].Microseconds()), m+"-fdatasync-p50-us")
	}
}

func prepareFile(b *testing.B, mode, path string, size, chunk int64) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	switch mode {
	case "zerofill":
		vf, err := vfs.Default.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
		if err != nil {
			b.Fatal(err)
		}
		defer vf.Close()
		if err := zeroFill(vf, 0, size, func() bool { return false }); err != nil {
			b.Fatal(err)
		}
		return
	case "direct":
		if err := zeroFillDirect(path, size, func() bool { return false }); err != nil {
			b.Fatal(err)
		}
		return
	case "fallocate":
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}
