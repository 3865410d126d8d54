package main

import (
	"log"
	"net/http"
	"net/http/pprof"
	"os"
)

// pprofEnv names the environment variable that, set to a listen address
// (host:port), makes the chaincode serve Go's pprof handlers there, so a
// benchmark can take a CPU profile of the process the peer launched.
// scripts/network.sh sets it only under LEDGERGUARD_FABRIC_PROFILE=1 (a
// bench-only switch; the peer passes it through its propagateEnvironment
// list); unset, nothing listens. It observes the process and never takes
// part in a transaction, so endorsement stays deterministic.
const pprofEnv = "LEDGERGUARD_CC_PPROF"

// servePprof starts the pprof listener when pprofEnv is set; a listener
// that fails is logged, never fatal (profiling must not stop the
// chaincode).
func servePprof() {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go func() {
		log.Printf("ledgerguard chaincode: pprof on %s (%s)", addr, pprofEnv)
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Printf("ledgerguard chaincode: pprof listener: %v", err)
		}
	}()
}
