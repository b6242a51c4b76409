// Package consume owns reading NATS: the JetStream stream and durable
// consumer (pull loop, ack floor, keep-alive), the core NATS subscription,
// reading a message's events (through internal/event/decode), and settling
// each message (ack, hand back with a delay, or dead-letter then
// terminate) once all its events have an outcome. It hands events on as
// delivery.Items whose Done settles the message, so settling travels with
// the message; a message with dead letters goes to internal/deadletter,
// which stores them and then settles it. The connection is
// internal/natsconn's. It never speaks HTTP.
package consume
