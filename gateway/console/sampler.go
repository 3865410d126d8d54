package console

import (
	"fmt"
	"html/template"
	"strings"
	"sync"
	"time"
)

// sampler keeps the last window of counter samples (a ring), from which
// the overview draws per-minute rates.
type sampler struct {
	mu     sync.Mutex
	window time.Duration
	buf    []Sample
}

func newSampler(window, every time.Duration) *sampler {
	n := int(window/every) + 2
	return &sampler{window: window, buf: make([]Sample, 0, n)}
}

func (s *sampler) add(x Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) == cap(s.buf) {
		copy(s.buf, s.buf[1:])
		s.buf = s.buf[:len(s.buf)-1]
	}
	s.buf = append(s.buf, x)
}

func (s *sampler) snapshot() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.buf...)
}

// perMinute returns, for each of the last n minutes ending at now (oldest
// first), how much the counter f grew in that minute, from consecutive
// samples (growth between two samples counts in the later one's minute).
func perMinute(samples []Sample, now time.Time, n int, f func(Sample) uint64) []uint64 {
	out := make([]uint64, n)
	end := now.Truncate(time.Minute).Add(time.Minute)
	for i := 1; i < len(samples); i++ {
		a, b := f(samples[i-1]), f(samples[i])
		if b < a { // a restart reset the counters
			continue
		}
		k := n - 1 - int(end.Sub(samples[i].At)/time.Minute)
		if samples[i].At.Equal(end) {
			k = n - 1
		}
		if k >= 0 && k < n {
			out[k] += b - a
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
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s: %d %s in the last hour, at most %d in one minute" xmlns="http://www.w3.org/2000/svg">`,
		w, h, template.HTMLEscapeString(title), total, unit, max)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888" stroke-width="1"/>`, pad, h-pad, w-pad/2, h-pad)
	fmt.Fprintf(&b, `<text x="2" y="%d" font-size="11" fill="#333">%d</text>`, pad, max)
	fmt.Fprintf(&b, `<text x="2" y="%d" font-size="11" fill="#333">0</text>`, h-pad)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#333">-60 min</text>`, pad, h-8)
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
	return chart{Title: title, Summary: fmt.Sprintf("%d %s in the last hour (peak %d per minute)", total, unit, max), SVG: template.HTML(b.String())}
}
