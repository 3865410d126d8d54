package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/stix"
	"github.com/ledgerguard/ledgerguard/gateway/taxii"
)

// benchTAXII measures TAXII paging at scale: a catalog of n indicators
// rendered as STIX 2.1 by gateway/stix (bulk shares of perTx indicators
// with one timestamp each, the case that makes timestamp cursors loop),
// served by gateway/taxii over loopback HTTP, walked to the end in pages
// of pageSize through next cursors by one client that reads and decodes
// every page. It reports page latency percentiles and, as the in-run
// baseline, the ratio of the last pages' median to the first pages'
// (1.0: a page costs the same at the end of the collection as at its
// start).
func benchTAXII(ctx context.Context, n, perTx, pageSize int) error {
	c := intel.NewCatalog()
	key := []byte("bench-consortium-key-not-secret!")
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	buildStart := time.Now()
	for i := range n {
		value := fmt.Sprintf("host-%07d.bench.example", i)
		hash := wire.IndicatorHash(key, wire.IndicatorDomain, value)
		added := base.Add(time.Duration(i/perTx) * time.Second)
		ind := wire.Indicator{
			ID: wire.IndicatorID("Org1MSP", hash), Hash: hash, KeyID: "k1", Type: wire.IndicatorDomain, Confidence: 80,
			TLP: wire.TLPGreen, ValidFrom: wire.NewTime(base), SharedBy: "Org1MSP", SharedAt: wire.NewTime(added),
			Techniques: []string{"T1071.004"}, Value: value,
		}
		o, err := stix.IndicatorObject(ind)
		if err != nil {
			return err
		}
		var v struct{ Modified string }
		if err := json.Unmarshal(o.JSON, &v); err != nil {
			return err
		}
		if err := c.Add(intel.GroupShared, intel.Object{ID: o.ID, Type: o.Type, Version: v.Modified, SpecVersion: "2.1",
			DateAdded: added, Pos: intel.Position{Block: uint64(100 + i/perTx), Tx: 1, Index: uint32(i % perTx)}, Body: o.JSON}); err != nil {
			return err
		}
	}
	report("taxii_catalog_build_objects_per_s", float64(n)/time.Since(buildStart).Seconds(), "objects/s")

	const token = "bench-intel-token-not-secret"
	s, err := taxii.New(taxii.Config{MaxLimit: pageSize}, taxii.Deps{Source: c, Org: "Org1MSP", Logger: slog.New(slog.DiscardHandler),
		Credentials: []gateway.Credential{{Name: "bench", Token: token, Scopes: []gateway.Scope{gateway.ScopeIntel}}}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := fmt.Sprintf("http://%s/taxii2/ledgerguard/collections/%s/objects/", ln.Addr(), taxii.CollectionID(intel.GroupShared))
	httpc := &http.Client{Timeout: 30 * time.Second}

	var lat []time.Duration
	seen, next := 0, ""
	for {
		u := fmt.Sprintf("%s?limit=%d", url, pageSize)
		if next != "" {
			u += "&next=" + next
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", taxii.MediaTAXII)
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, body)
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
		seen += len(env.Objects)
		if !env.More {
			break
		}
		next = env.Next
		if len(lat) > n {
			return errors.New("taxii paging does not end")
		}
	}
	if seen != n {
		return fmt.Errorf("walked %d objects, the collection holds %d", seen, n)
	}
	k := min(100, len(lat)/2)
	report("taxii_page_p50_ms", ms(percentile(lat, 50)), "ms")
	report("taxii_page_p99_ms", ms(percentile(lat, 99)), "ms")
	report("taxii_page_max_ms", ms(percentile(lat, 100)), "ms")
	report("taxii_pages_walked", float64(len(lat)), "pages")
	report("taxii_page_last_to_first_ratio", float64(percentile(lat[len(lat)-k:], 50))/float64(percentile(lat[:k], 50)), "ratio")
	return nil
}
