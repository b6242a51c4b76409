// Package publish owns the HTTP side: it gathers events into batches bounded
// by count, bytes and a linger time, sends them to Konnect's ingest endpoint
// several at a time, classifies every answer in one place (outcome.go) and
// reports each event's settlement exactly once through its delivery.Item's Done. It never
// touches NATS: what an outcome means for a message is the caller's business.
package publish
