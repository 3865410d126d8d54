// Package evidence builds and checks ledgerguard evidence bundles: the
// self-contained files a compliance team takes away to prove, offline, that
// a gateway's events were logged unchanged and anchored on the Fabric ledger.
//
// # What a bundle holds
//
// A bundle (see [Header], [BatchRecord], [EventRecord] and the format notes
// on [Encoder]) is JSON lines, optionally gzipped, version [Version]. It
// names the gateway (MSP and id), the channel and chaincode, and carries the
// root and intermediate CA certificates of every application organisation
// as recorded in the channel's configuration block (not files on the
// exporter's disk). For each exported batch it carries the batch, the
// anchoring transaction's envelope exactly as committed with its block
// number and validation code, the compact-range prefix of the tree before
// the batch, and the consistency proof from the previous exported batch.
// For each event of the batch it carries the stored canonical bytes (the
// Merkle leaf, byte for byte) and the inclusion proof against the batch's
// root. Batches are always exported whole, so removal, insertion and
// reordering of events are detectable, not only modification.
//
// # What Verify guarantees
//
// [Verify] reports a problem ([Finding]) for every check that fails and
// nothing otherwise; a bundle with no findings proves, given the trusted CA
// certificates, that:
//
//   - every anchoring transaction was committed VALID, was created by an
//     identity of the gateway's MSP, and carries endorsements satisfying the
//     rule "one valid peer endorsement from each application organisation in
//     the bundle" (for ledgerguard's AND('Org1MSP.peer','Org2MSP.peer'));
//     an endorsement is valid when its certificate chains to its
//     organisation's CA at the transaction's time, carries the peer
//     organisational unit when the organisation uses NodeOUs, and its
//     low-S ECDSA signature over ProposalResponsePayload ‖ endorser verifies
//     (what Fabric's validator checks);
//   - the batch record the transaction wrote to the ledger has the root,
//     tree sizes, sequence range and id of the bundle's batch;
//   - every event's canonical bytes hash to the leaf its inclusion proof
//     places at its seq under that anchored root, each seq of each batch is
//     present exactly once and in order, and the leaves recompute the root;
//   - consecutive batches are consistent (RFC 6962 consistency proofs).
//
// Trust is rooted in the CA certificates in the bundle: an auditor compares
// their fingerprints (in the [Report]) with the consortium's, or runs the
// online check ([WithOnline]) which compares them and every batch with the
// live channel.
//
// Findings name the event (id and seq) that was modified, removed, inserted
// or reordered; see [Kind] for the exact rules.
//
// # Bundles as training data
//
// [VerifiedEvents] and [Features] let the training pipeline learn from
// authentic events: they verify a bundle first and read its events (decoded
// from the anchored canonical bytes, in seq order) only if it verifies.
package evidence
