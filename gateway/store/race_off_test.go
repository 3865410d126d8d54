//go:build !race

package store

// raceEnabled scales the heaviest tests down under the race detector,
// which slows them about tenfold; the full versions run without it.
const raceEnabled = false
