package consume

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
)

// Durability words how safely a stream keeps what it acknowledged, for a
// stream that holds billable events: OK is false when a crash may lose
// events the producer saw acknowledged. A client cannot read the server's
// sync_interval, so an R1 file stream is warned about whatever it is set
// to (nats-server issue 7564: with the default of two minutes, an R1
// stream can lose acknowledged writes when its server crashes).
//
// It is what `bridge check` says, and what readiness and the status page
// show of the bound stream, with the replicas and storage it read.
func Durability(c jetstream.StreamConfig) health.Durability {
	d := health.Durability{Stream: c.Name, Replicas: max(c.Replicas, 1), Storage: strings.ToLower(c.Storage.String())}
	switch {
	case c.Storage == jetstream.MemoryStorage:
		d.Says = fmt.Sprintf("stream %s keeps its events in memory: a NATS restart loses every event not yet billed; use file storage with 3 replicas", c.Name)
	case d.Replicas < 3:
		d.Says = fmt.Sprintf("stream %s has %d replica(s) on file storage: a server crash may lose events it acknowledged unless the server runs with sync_interval: always; use 3 replicas in production", c.Name, d.Replicas)
	default:
		d.OK, d.Says = true, fmt.Sprintf("stream %s keeps events on file storage with %d replicas", c.Name, d.Replicas)
	}
	return d
}
