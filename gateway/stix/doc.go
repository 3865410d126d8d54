// Package stix reads and writes STIX, the OASIS language threat
// intelligence is exchanged in, for ledgerguard's indicator sharing.
//
// Import ([Parse], [ParseObjects]) accepts STIX 2.1 and 2.0 bundles (and
// the objects of a TAXII envelope) and turns their indicator objects into
// [intel.Input]s ready for intel.Prepare: the STIX pattern is parsed with
// the full patterning grammar ([ParsePattern]); equality comparisons and
// IN sets on the paths of [PatternPaths], joined by OR, become one
// indicator per value, canonicalised as the ledger hashes them
// (wire.CanonicalIndicator); the TLP comes from TLP 1.0 or 2.0 marking
// definitions (never loosened by the options), confidence and validity
// from the object, ATT&CK technique ids from its external references and
// from attack patterns related to it, the kill-chain phase from the
// object or those attack patterns. Anything it cannot express (AND,
// FOLLOWEDBY, qualifiers, other properties or operators), malformed STIX,
// TLP:RED and bundles over the limits are refused with an [*ObjectError]
// naming the object, and then nothing is shared: one import is one
// ledger transaction. [ImportOptions.SkipUnshareable] instead skips (and
// lists) the indicators that cannot be shared.
//
// Export ([ExportBundle], [IndicatorObject]) writes ledger indicators as a
// valid STIX 2.1 bundle: indicator objects with patterns built from the
// canonical value ([FormatPattern]), TLP 2.0 marking references and the
// published marking definitions, and the sharer's identity. Ids are
// derived deterministically, so every gateway and every export serve the
// same objects at the same versions (what TAXII clients deduplicate on).
//
// Hand-written rather than a library: no Go STIX 2.1 library is available
// to this project, and the parts needed (a recursive-descent parser for
// the patterning grammar, a handful of object shapes) are small and
// fuzzed (FuzzParsePattern, FuzzParse).
package stix
