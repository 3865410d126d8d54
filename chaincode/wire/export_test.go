package wire

// FastAlerts exposes DecodeAlerts' scanner to the tests, which check that
// the gateway's form takes it.
var FastAlerts = fastAlerts

// SkimSetIDs exposes StoredAlertSetIDs' skimmer to the tests.
var SkimSetIDs = skimSetIDs

// StoredSetIDs is the struct StoredAlertSetIDs decodes with encoding/json.
type StoredSetIDs = storedSetIDs
