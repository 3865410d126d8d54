// Package report builds ledgerguard's compliance reports: for a period, what
// was anchored, which alerts were raised and where they stand, which
// response policies were in force and who approved them, which actions ran
// and how they ended, which models were used, and whether the period's
// evidence bundle verified.
//
// A report is data first: [Assemble] turns ledger records (read by the
// caller, e.g. through gateway/fabric) and an evidence check
// ([CheckBundle]) into a [Report], whose JSON encoding ([Report.Encode]) is
// the machine-readable report. The printable HTML is rendered from those
// JSON bytes alone ([RenderHTML]), so the two cannot disagree. Both files
// are signed with the organisation's ledger identity ([Signer]): a
// detached ECDSA signature per file plus the signer's certificate in a
// small JSON signature file ([Signature]), which [VerifyFile] checks
// offline against the organisation's CA certificates ([ParseTrust]).
//
// Assemble is a pure function of its inputs: the same records give the
// same bytes, whatever order the ledger returned them in.
package report
