package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// MemoryLimit is the memory_limit setting: the soft limit the Go runtime
// keeps its heap and runtime memory under (runtime/debug.SetMemoryLimit),
// collecting garbage harder as it nears it instead of growing until the
// kernel kills the process. It is one of:
//   - a percentage of the memory the process may use ("75%"): the cgroup's
//     limit (v2 memory.max, v1 memory.limit_in_bytes) when there is one,
//     else the machine's (MemTotal of /proc/meminfo);
//   - a size in bytes, plain or with a KiB, MiB, GiB or TiB suffix ("2GiB");
//   - "off": leave the runtime's limit as it is (unlimited unless
//     GOMEMLIMIT says otherwise).
//
// GOMEMLIMIT in the environment wins over it: the runtime applies it before
// the configuration is read, and Apply leaves it alone.
type MemoryLimit string

// DefaultMemoryLimit leaves a quarter of the memory to the page cache the
// store's reads and fsyncs rely on, to cgo (ONNX Runtime's arenas are not
// Go heap) and to what the Go runtime does not count.
const DefaultMemoryLimit MemoryLimit = "75%"

// memLimit is a parsed MemoryLimit: exactly one of its forms.
type memLimit struct {
	off      bool
	fraction float64 // of the available memory, in (0, 1]
	bytes    int64
}

func (m MemoryLimit) parse() (memLimit, error) {
	s := strings.TrimSpace(string(m))
	switch {
	case s == "" || s == string(DefaultMemoryLimit):
		return memLimit{fraction: 0.75}, nil
	case strings.EqualFold(s, "off"):
		return memLimit{off: true}, nil
	case strings.HasSuffix(s, "%"):
		p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
		if err != nil || math.IsNaN(p) || p <= 0 || p > 100 {
			return memLimit{}, fmt.Errorf("percentage must be in (0, 100], got %q", s)
		}
		return memLimit{fraction: p / 100}, nil
	}
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return memLimit{}, fmt.Errorf("must be a percentage (75%%), a size (2GiB, 2147483648) or off, got %q", s)
	}
	if n*mult < 64<<20 {
		return memLimit{}, fmt.Errorf("must be at least 64MiB, got %q", s)
	}
	return memLimit{bytes: n * mult}, nil
}

// Bytes resolves the limit against available, the memory the process may
// use (see AvailableMemory). It returns 0 for "off", and for a percentage
// when available is unknown (0).
func (m MemoryLimit) Bytes(available int64) (int64, error) {
	l, err := m.parse()
	if err != nil {
		return 0, err
	}
	switch {
	case l.off:
		return 0, nil
	case l.bytes > 0:
		return l.bytes, nil
	case available <= 0:
		return 0, nil
	}
	return int64(float64(available) * l.fraction), nil
}

// Apply sets the Go runtime's memory limit from m, unless getenv reports
// GOMEMLIMIT set (the runtime already applied it, and it wins). It returns
// the limit in effect afterwards (math.MaxInt64: none) and where it came
// from: "GOMEMLIMIT", "memory_limit" or "none".
func (m MemoryLimit) Apply(getenv func(string) string) (limit int64, source string, err error) {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT", nil
	}
	n, err := m.Bytes(AvailableMemory())
	if err != nil {
		return 0, "", &FieldError{Field: "memory_limit", Msg: err.Error()}
	}
	if n <= 0 {
		return debug.SetMemoryLimit(-1), "none", nil
	}
	debug.SetMemoryLimit(n)
	return n, "memory_limit", nil
}

// AvailableMemory is the memory this process may use, in bytes: its cgroup's
// limit when it has one, else the machine's total; 0 when neither can be
// read.
func AvailableMemory() int64 {
	total := meminfoTotal("/proc/meminfo")
	if c := cgroupLimit(); c > 0 && (total == 0 || c < total) {
		return c
	}
	return total
}

// cgroupLimit reads the cgroup v2, then v1, memory limit of the process's
// cgroup as seen at the usual mount point; 0 when unlimited or unreadable.
func cgroupLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(bytes.TrimSpace(b))
		if s == "max" {
			return 0
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

var errNoMemTotal = errors.New("no MemTotal")

// meminfoTotal is MemTotal of a /proc/meminfo file in bytes, 0 if absent.
func meminfoTotal(path string) int64 {
	n, err := parseMeminfo(path)
	if err != nil {
		return 0
	}
	return n
}

func parseMeminfo(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errNoMemTotal
}
