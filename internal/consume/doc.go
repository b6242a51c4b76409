// Package consume owns reading NATS (the connection is internal/natsconn's):
// the JetStream stream and durable consumer, the core NATS subscription, reading a message's
// events (through internal/event/decode), the dead-letter stream, and settling each message (ack, hand back
// with a delay, or dead-letter then terminate) once all its events have an
// outcome. It hands events on as delivery.Items whose Done settles the
// message, so settling travels with the message. It never speaks HTTP.
package consume
