// Package onfabric holds the responder's crash-safe event-stream
// checkpoint file (fabric-gateway's FileCheckpointer format, replaced
// atomically rather than in place). Its *atomicCheckpointer satisfies
// fabric.Checkpoint; the event source and ledger calls themselves live in
// gateway/fabric.
package onfabric
