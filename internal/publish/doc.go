// Package publish owns the HTTP side: it gathers events into batches bounded
// by count, bytes and a linger time, sends them to Konnect's ingest endpoint
// with as many requests at once as Konnect takes (arc.go), classifies every
// answer in one place (answer.go), decides what follows each answer in one
// pure function (policy.go), and reports each event's settlement exactly once
// through its delivery.Item's Done. It never touches NATS: what a settlement
// means for a message is the caller's business.
package publish
