package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// histSnapshot is the cumulative buckets of every histogram series of a
// /metrics scrape, keyed by series name with its labels except le.
type histSnapshot map[string][]bucket

type bucket struct {
	le    float64
	count float64
}

var bucketLine = regexp.MustCompile(`^([a-z_:]+)_bucket\{(.*?),?le="([^"]+)"\} ([0-9.e+-]+)$`)

// scrapeHistograms reads the gateway's /metrics (which needs no
// credential) and keeps the histograms whose name starts with one of
// prefixes; nil when the scrape fails.
func scrapeHistograms(ctx context.Context, c *http.Client, url string, prefixes ...string) histSnapshot {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return nil
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := histSnapshot{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		m := bucketLine.FindStringSubmatch(sc.Text())
		if m == nil || !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(m[1], p) }) {
			continue
		}
		le, err1 := strconv.ParseFloat(m[3], 64)
		if m[3] == "+Inf" {
			le, err1 = math.Inf(1), nil
		}
		n, err2 := strconv.ParseFloat(m[4], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		key := m[1]
		if m[2] != "" {
			key += "{" + m[2] + "}"
		}
		out[key] = append(out[key], bucket{le, n})
	}
	return out
}

// quantile returns the q-quantile (0..1) of what series observed between
// two scrapes, as the upper bound of the bucket it falls in (so it never
// understates), and the observations; ok is false without any.
func quantile(before, after histSnapshot, series string, q float64) (v, n float64, ok bool) {
	a := after[series]
	b := before[series]
	if len(a) == 0 {
		return 0, 0, false
	}
	delta := make([]bucket, len(a))
	for i, x := range a {
		delta[i] = x
		if i < len(b) && b[i].le == x.le {
			delta[i].count -= b[i].count
		}
	}
	slices.SortFunc(delta, func(x, y bucket) int { return cmp.Compare(x.le, y.le) })
	total := delta[len(delta)-1].count
	if total <= 0 {
		return 0, 0, false
	}
	for _, x := range delta {
		if x.count >= q*total {
			return x.le, total, true
		}
	}
	return math.Inf(1), total, true
}

// attributionSeries are the gateway-side histograms reported beside the
// client's latency, by the figure name they get: the NDJSON handler's
// phases, the store's group commit phases, the Go scheduler's latency
// (runnable goroutines waiting for a CPU) and stop-the-world pauses.
var attributionSeries = []struct{ name, series string }{
	{"http", `ledgerguard_http_request_duration_seconds{code="200",method="POST",route="/v1/events"}`},
	{"read", `ledgerguard_ingest_phase_seconds{phase="read",protocol="ndjson"}`},
	{"parse", `ledgerguard_ingest_phase_seconds{phase="parse",protocol="ndjson"}`},
	{"store", `ledgerguard_ingest_phase_seconds{phase="store",protocol="ndjson"}`},
	{"respond", `ledgerguard_ingest_phase_seconds{phase="respond",protocol="ndjson"}`},
	{"commit_queued", `ledgerguard_store_commit_seconds{phase="queued"}`},
	{"commit_prepare", `ledgerguard_store_commit_seconds{phase="prepare"}`},
	{"commit_segment", `ledgerguard_store_commit_seconds{phase="segment"}`},
	{"commit_index", `ledgerguard_store_commit_seconds{phase="index"}`},
	{"commit_total", `ledgerguard_store_commit_seconds{phase="total"}`},
	{"sched_latency", `go_sched_latencies_seconds`},
	{"gc_pause", `go_sched_pauses_total_gc_seconds`},
	{"other_pause", `go_sched_pauses_total_other_seconds`},
}

// reportAttribution prints, for each attribution series the gateway
// exports, its p50 and p99 over the interval between two scrapes
// (<prefix>server_<name>_p99_ms): where an acknowledgement's time went.
// A series an older gateway lacks is skipped.
func reportAttribution(prefix string, before, after histSnapshot) {
	for _, s := range attributionSeries {
		for _, q := range []struct {
			tag string
			q   float64
		}{{"p50", 0.50}, {"p99", 0.99}} {
			v, _, ok := quantile(before, after, s.series, q.q)
			if !ok {
				continue
			}
			report(fmt.Sprintf("%sserver_%s_%s_ms", prefix, s.name, q.tag), v*1000, "ms")
		}
	}
}

// attributionPrefixes are the metric families scrapeHistograms keeps.
var attributionPrefixes = []string{"ledgerguard_http_request_duration_seconds", "ledgerguard_ingest_phase_seconds", "ledgerguard_store_commit_seconds", "go_sched_"}
