// Package taxii is the gateway's TAXII 2.1 server (OASIS TAXII 2.1,
// 2021) under /taxii2/: discovery, one API root, one collection per TLP
// group the gateway's organisation reads (intel.GroupShared: CLEAR and
// GREEN; intel.GroupAmber: AMBER and AMBER+STRICT addressed to it),
// objects (GET and POST), objects/{id}, objects/{id}/versions, manifest
// and status/{id}.
//
// Guarantees:
//   - Pages follow ledger order: the next cursor is the position (block,
//     transaction, index) of the last object served, base64url-encoded
//     with its collection. A bulk share with one timestamp never loops or
//     skips, and any gateway of the organisation serves the same pages
//     without keeping cursors in memory. added_after is exclusive. A
//     cursor that does not decode, or names another collection, is a 400.
//   - Media types: responses are application/taxii+json;version=2.1; an
//     Accept header that admits neither it nor (for object endpoints)
//     application/stix+json;version=2.1 is a 406, a POST body of another
//     type a 415. Every error is a TAXII error message with a title and a
//     description saying what to change; never a 5xx for bad input.
//   - Credentials are the gateway's (gateway.Credential), by HTTP Basic
//     (username:token) or Bearer token, compared in constant time. GET
//     needs the intel scope, POST the intel-share scope: intelligence,
//     AMBER especially, is kept apart from the proof API's read scope.
//   - POST shares synchronously: the 202 status is "complete" only after
//     the ledger committed the share; a refused envelope shares nothing.
//     Status resources are kept in memory (the last MaxStatuses), so a
//     status is served by the gateway that took the POST.
//
// The server reads through Source (the intel catalog implements it) and
// shares through Publisher; LedgerPublisher is the gateway's (gateway/stix
// parses, intel.Prepare hashes, intel.Ledger commits) and CatalogObject
// renders ledger indicators with gateway/stix's export, so TAXII serves the
// very objects `ledgerguard intel export` writes. It uses net/http's
// ServeMux: the API is small, and method+pattern routing with path values
// covers TAXII's paths without another dependency.
package taxii
