package wire

// FastAlerts exposes DecodeAlerts' scanner to the tests, which check that
// the gateway's form takes it.
var FastAlerts = fastAlerts
