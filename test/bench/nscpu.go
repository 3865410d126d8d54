package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// nsCPU returns the CPU time (user + system) used so far by every other
// process in this process's network namespace, and false when that
// namespace is the host's (then "every other process" would be the whole
// machine's). scripts/bench.sh runs in a namespace of its own when
// started through a private network namespace, so the sum is the system
// under test (peers, orderers, chaincode processes): a figure that, unlike
// a rate, does not depend on how much CPU other work on the machine
// leaves to it. Processes that exit between two calls drop out of the
// difference; the network's do not.
func nsCPU() (map[int]time.Duration, bool) {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return nil, false
	}
	// The host's namespace is kthreadd's (pid 2; init's may not be
	// readable in a sandbox).
	host, err := os.Readlink("/proc/2/ns/net")
	if err != nil {
		if host, err = os.Readlink("/proc/1/ns/net"); err != nil {
			return nil, false
		}
	}
	if host == self {
		return nil, false
	}
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, false
	}
	out := make(map[int]time.Duration, len(dirs))
	me := os.Getpid()
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == me {
			continue
		}
		if ns, err := os.Readlink(d + "/ns/net"); err != nil || ns != self {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		t, ok := statCPU(b)
		if !ok {
			continue
		}
		out[pid] = t
	}
	return out, true
}

// cpuSince returns the CPU time the processes of the namespace used
// since before (a result of nsCPU): the growth of those still running
// plus all of those started since.
func cpuSince(before map[int]time.Duration) time.Duration {
	now, ok := nsCPU()
	if !ok {
		return 0
	}
	var d time.Duration
	for pid, t := range now {
		d += t - before[pid]
	}
	return d
}

// statCPU parses a /proc/PID/stat line into the process's CPU time
// (utime + stime). The fields after the command's closing parenthesis
// (the command itself may hold spaces and parentheses) are state first,
// then utime 12th and stime 13th (proc(5)), in clock ticks of 1/100 s on
// Linux.
func statCPU(b []byte) (time.Duration, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(string(f[11]), 10, 32)
	s, err2 := strconv.ParseUint(string(f[12]), 10, 32)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * 10 * time.Millisecond, true
}
