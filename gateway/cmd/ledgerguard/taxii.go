package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/taxii"
)

// newTAXII builds the TAXII 2.1 server over the organisation's intel
// catalog (src: the *intel.Catalog the intel sync feeds, rendering each
// readable indicator with taxii.CatalogObject); pub nil makes it
// read-only, else pass &taxii.LedgerPublisher{Ledger, Key, Sharer} with a
// ledger identity holding the intel or author role.
func newTAXII(tc taxii.Config, src taxii.Source, pub taxii.Publisher, creds []gateway.Credential, msp string, log *slog.Logger) (http.Handler, error) {
	if !gateway.AnyHas(creds, gateway.ScopeIntel) {
		log.Warn("taxii is enabled but no credential has the intel scope: every request is refused")
	}
	s, err := taxii.New(tc, taxii.Deps{Source: src, Publisher: pub, Credentials: creds, Org: msp, Logger: log})
	if err != nil {
		return nil, usageError{fmt.Errorf("taxii: %w", err)}
	}
	log.Info("taxii enabled", "path", taxii.Prefix+"/", "api_root", tc.APIRoot, "shares", pub != nil)
	return s, nil
}
