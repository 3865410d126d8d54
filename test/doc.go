// Package test holds ledgerguard's end-to-end tests; they drive the real
// Fabric network that the scripts start, never a mock of it.
package test
