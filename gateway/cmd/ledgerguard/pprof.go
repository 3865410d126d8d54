package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof listens on addr (config debug.pprof_listen, loopback only)
// and returns the function that serves net/http/pprof there until its ctx
// ends. It listens at once, before the gateway starts any worker, so a
// taken port fails start-up cleanly. The handlers are
// mounted on a private mux, not http.DefaultServeMux, so nothing else the
// process registers leaks onto this port and the API never serves them.
func servePprof(addr string, log *slog.Logger) (func(ctx context.Context) error, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug.pprof_listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Warn("pprof listener on (debug.pprof_listen): profiles expose memory contents", "addr", ln.Addr().String())
	return func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, nil
}
