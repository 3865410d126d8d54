package console

import (
	"fmt"
	"html/template"
	"strings"
	"sync"
	"time"
)

// sampler keeps the counter samples the overview draws its rates from:
// every sample of the last hour, and one sample per minute (the minute's
// last) of the last day. Both are fixed-size rings, so memory is bounded
// (about 1,800 samples) whatever the uptime.
type sampler struct {
	mu     sync.Mutex
	recent []Sample // every sample, the last hour
	daily  []Sample // one per minute, the last day
}

// minutesPerDay is the daily ring's length (plus the two partial minutes
// at its ends).
const minutesPerDay = 24*60 + 2

func newSampler(window, every time.Duration) *sampler {
	n := int(window/every) + 2
	return &sampler{recent: make([]Sample, 0, n), daily: make([]Sample, 0, minutesPerDay)}
}

// push appends x to the ring buf, dropping the oldest when it is full.
func push(buf []Sample, x Sample) []Sample {
	if len(buf) == cap(buf) {
		copy(buf, buf[1:])
		buf = buf[:len(buf)-1]
	}
	return append(buf, x)
}

func (s *sampler) add(x Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent = push(s.recent, x)
	if n := len(s.daily); n > 0 && s.daily[n-1].At.Truncate(time.Minute).Equal(x.At.Truncate(time.Minute)) {
		s.daily[n-1] = x // the minute's latest sample stands for it
		return
	}
	s.daily = push(s.daily, x)
}

// snapshot returns the samples of the last hour.
func (s *sampler) snapshot() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.recent...)
}

// snapshotDay returns one sample per minute of the last day.
func (s *sampler) snapshotDay() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.daily...)
}

// span is a time range the overview charts: its window, the width of
// one bar, and the words that describe them.
type span struct {
	Name   string
	Window time.Duration
	Bucket time.Duration
	Per    string // "minute", "15 minutes"
	Ago    string // the left axis label
	Within string // "in the last hour"
}

var spans = map[string]span{
	"hour": {Name: "hour", Window: time.Hour, Bucket: time.Minute, Per: "minute", Ago: "-60 min", Within: "in the last hour"},
	"day":  {Name: "day", Window: 24 * time.Hour, Bucket: 15 * time.Minute, Per: "15 minutes", Ago: "-24 h", Within: "in the last day"},
}

func (sp span) bars() int { return int(sp.Window / sp.Bucket) }

// perMinute returns, for each of the last n minutes ending at now (oldest
// first), how much the counter f grew in that minute, from consecutive
// samples (growth between two samples counts in the later one's minute).
func perMinute(samples []Sample, now time.Time, n int, f func(Sample) uint64) []uint64 {
	return perBucket(samples, now, n, time.Minute, f)
}

// perBucket is perMinute for bars of width bucket (a whole number of
// minutes, aligned to the clock).
func perBucket(samples []Sample, now time.Time, n int, bucket time.Duration, f func(Sample) uint64) []uint64 {
	out := make([]uint64, n)
	end := now.Truncate(bucket).Add(bucket)
	for i := 1; i < len(samples); i++ {
		a, b := f(samples[i-1]), f(samples[i])
		if b < a { // a restart reset the counters
			continue
		}
		k := n - 1 - int(end.Sub(samples[i].At)/bucket)
		if samples[i].At.Equal(end) {
			k = n - 1
		}
		if k >= 0 && k < n {
			out[k] += b - a
		}
	}
	return out
}

// countBuckets counts the times in each of the last n bars of width bucket
// ending at now (oldest first).
func countBuckets(times []time.Time, now time.Time, n int, bucket time.Duration) []uint64 {
	out := make([]uint64, n)
	end := now.Truncate(bucket).Add(bucket)
	for _, t := range times {
		if !t.Before(end) {
			continue
		}
		k := n - 1 - int(end.Sub(t)/bucket)
		if k >= 0 && k < n {
			out[k]++
		}
	}
	return out
}

// chart is one server-rendered SVG bar chart with its accessible summary.
type chart struct {
	Title   string
	Summary string
	SVG     template.HTML
}

// barChart draws values (one bar per minute, oldest first) as inline SVG.
// Only numbers and fixed words go into the markup; no style attributes,
// so the Content-Security-Policy needs no 'unsafe-inline'.
func barChart(title, unit string, values []uint64) chart {
	return spanChart(title, unit, values, spans["hour"])
}

// spanChart draws values (one bar per sp.Bucket, oldest first) over sp.
func spanChart(title, unit string, values []uint64, sp span) chart {
	const w, h, pad = 600, 160, 30
	var max, total uint64
	for _, v := range values {
		total += v
		if v > max {
			max = v
		}
	}
	scale := 1.0
	if max > 0 {
		scale = float64(h-2*pad) / float64(max)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s: %d %s %s, at most %d in one %s" xmlns="http://www.w3.org/2000/svg">`,
		w, h, template.HTMLEscapeString(title), total, unit, sp.Within, max, sp.Per)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888" stroke-width="1"/>`, pad, h-pad, w-pad/2, h-pad)
	fmt.Fprintf(&b, `<text x="2" y="%d" font-size="11" fill="#333">%d</text>`, pad, max)
	fmt.Fprintf(&b, `<text x="2" y="%d" font-size="11" fill="#333">0</text>`, h-pad)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">%s</text>`, pad, h-8, sp.Ago)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333" text-anchor="end">now</text>`, w-pad/2, h-8)
	n := len(values)
	if n > 0 {
		bw := float64(w-pad-pad/2) / float64(n)
		for i, v := range values {
			bh := float64(v) * scale
			x := float64(pad) + float64(i)*bw
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2b6cb0"><title>%d %s</title></rect>`,
				x+0.5, float64(h-pad)-bh, bw-1, bh, v, unit)
		}
	}
	b.WriteString(`</svg>`)
	return chart{Title: title, Summary: fmt.Sprintf("%d %s %s (peak %d per %s)", total, unit, sp.Within, max, sp.Per), SVG: template.HTML(b.String())}
}
