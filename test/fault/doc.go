// Package fault is the bridge's fault suite: the bridge runs as its own
// process, built from cmd/bridge, against a real nats-server process and a
// Konnect stand-in that the tests tell to fail. The tests kill the bridge
// with SIGKILL mid-batch, stop it with SIGTERM during a slow Konnect, kill
// and restart NATS, run three replicas on one durable consumer and lose one,
// kill the pinned one of two replicas under pinned_client,
// make Konnect answer 5xx, 429 with Retry-After, 401, drop connections or
// answer too late, and publish malformed events. Each time they check what
// an operator would: every event Konnect should hold, held once per
// (source, id); nothing dead-lettered that should not be; the consumer
// drained.
//
// The package holds only tests; this file carries its documentation.
package fault
