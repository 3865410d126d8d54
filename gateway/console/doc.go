// Package console is the web console the gateway serves at /console/: a
// server-rendered HTML view of the ledger (alerts, responses, policies,
// batches and anchors) and of the gateway itself (ingest, anchoring and
// alert rates, readiness, models served), with the few state changes an
// analyst makes (acknowledge or resolve an alert, approve a response) and
// a verifier for evidence bundles.
//
// Guarantees:
//   - Every asset is embedded (go:embed); pages are rendered with
//     html/template, charts are inline SVG drawn on the server, and the
//     only script is static/app.js (progressive enhancement: every view
//     works without it). The Content-Security-Policy forbids inline script
//     and any origin but the gateway's own.
//   - People sign in with a gateway credential (gateway.Credential). A
//     credential with the read scope sees; one with the analyst scope may
//     also ask for a state change. The LEDGER decides: the console submits
//     the transaction as the ledger identity its configuration names, and
//     shows the ledger's answer, a refusal (DENIED) included.
//   - Sessions live in memory on the server (a restart signs everyone
//     out), expire after session_ttl, and are carried in an HttpOnly,
//     SameSite=Strict cookie (Secure when served over TLS). Every state
//     change (POST) needs the session's CSRF token; sign-in needs the
//     token of its own pre-session cookie.
//   - Every list is one server-side page of the ledger's bookmarked
//     queries; filters and the bookmark are in the query string, so every
//     view has a stable URL.
//   - Bad input (no, forged or expired session; a missing or wrong CSRF
//     token; an analyst action by a read-only credential; a malformed or
//     oversized bundle) gets a 4xx page saying what is wrong, and changes
//     nothing.
//   - A bundle is verified on the server by gateway/evidence (the code
//     behind `ledgerguard verify`), in a background job whose progress the
//     page polls; the verdict lists the same findings the CLI prints.
//
// The package reaches the ledger only through the small interfaces in
// ports.go; gateway/cmd wires gateway/fabric into them.
package console
