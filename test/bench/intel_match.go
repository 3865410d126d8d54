package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// benchIntelShare measures how long an indicator Org1 shares takes to
// reach another organisation's matcher: a running Org2 gateway (url, intel
// on, /metrics without auth) whose intel_indicators gauge is watched. It
// first shares preload GREEN IPv4 indicators from 100.64.0.0/10 (an
// address range the ingest benchmark's events never use, so the matcher
// is loaded but matches nothing), then n single-indicator shares one
// after another, each timed from its commit (Share returns once
// committed) to the gauge counting it: intel_share_to_match_p50/p99_ms.
func benchIntelShare(ctx context.Context, runDir, url, keyID, keyFile string, n, preload int) error {
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	key := intel.Key{ID: keyID, Secret: secret}
	c, err := dial(ctx, runDir, "org1", "author")
	if err != nil {
		return err
	}
	defer c.Close()
	l := fabric.NewLedger(c, wire.Channel, wire.Chaincode)
	httpc := &http.Client{Timeout: 5 * time.Second}
	gauge := func() (float64, error) { return readGauge(ctx, httpc, url, "ledgerguard_intel_indicators") }
	base, err := gauge()
	if err != nil {
		return err
	}
	run := time.Now().UnixNano()
	if preload > 0 {
		start := time.Now()
		for done := 0; done < preload; {
			in := make([]intel.Input, 0, wire.MaxIndicatorsPerTx)
			for ; done < preload && len(in) < wire.MaxIndicatorsPerTx; done++ {
				ip := 100<<24 | 64<<16 | uint32(done)
				in = append(in, intel.Input{Type: wire.IndicatorIPv4, Value: fmt.Sprintf("%d.%d.%d.%d", ip>>24, ip>>16&0xff, ip>>8&0xff, ip&0xff),
					Confidence: 50, TLP: wire.TLPGreen, ValidFrom: time.Now(), StixID: fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", run&0xffffffff, done)})
			}
			if err := share(ctx, l, key, in); err != nil {
				return err
			}
		}
		if err := waitGauge(ctx, gauge, base+float64(preload), 5*time.Minute); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: %d indicators shared and in Org2's matcher after %s\n", preload, time.Since(start).Round(time.Millisecond))
		base += float64(preload)
	}
	var lat []time.Duration
	for i := range n {
		in := []intel.Input{{Type: wire.IndicatorDomain, Value: fmt.Sprintf("s2m-%d-%d.bench.example", run, i), Confidence: 80,
			TLP: wire.TLPGreen, ValidFrom: time.Now(), StixID: fmt.Sprintf("indicator--%08x-1111-4000-8000-%012x", run&0xffffffff, i)}}
		if err := share(ctx, l, key, in); err != nil {
			return err
		}
		committed := time.Now()
		if err := waitGauge(ctx, gauge, base+float64(i+1), time.Minute); err != nil {
			return err
		}
		lat = append(lat, time.Since(committed))
	}
	report("intel_share_to_match_p50_ms", ms(percentile(lat, 50)), "ms")
	report("intel_share_to_match_p99_ms", ms(percentile(lat, 99)), "ms")
	return nil
}

func share(ctx context.Context, l *fabric.Ledger, key intel.Key, in []intel.Input) error {
	s, v, err := intel.Prepare("Org1MSP", key, in, nil)
	if err != nil {
		return err
	}
	_, err = l.Share(ctx, s, v, key)
	return err
}

// waitGauge polls until the gauge reaches want (every 2 ms: the
// resolution of the latency it times).
func waitGauge(ctx context.Context, gauge func() (float64, error), want float64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		v, err := gauge()
		if err == nil && v >= want {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("intel_indicators = %v (err %v), want >= %v", v, err, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// readGauge reads one unlabelled gauge from url/metrics.
func readGauge(ctx context.Context, c *http.Client, url, name string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s/metrics (status %d) has no %s", url, resp.StatusCode, name)
}
