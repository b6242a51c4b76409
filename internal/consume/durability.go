package consume

import (
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Durability words how safely a stream keeps what it acknowledged, for a
// stream that holds billable events: ok is false when a crash may lose
// events the producer saw acknowledged. A client cannot read the server's
// sync_interval, so an R1 file stream is warned about whatever it is set
// to (nats-server issue 7564: with the default of two minutes, an R1
// stream can lose acknowledged writes when its server crashes).
func Durability(c jetstream.StreamConfig) (ok bool, says string) {
	replicas := max(c.Replicas, 1)
	switch {
	case c.Storage == jetstream.MemoryStorage:
		return false, fmt.Sprintf("stream %s keeps its events in memory: a NATS restart loses every event not yet billed; use file storage with 3 replicas", c.Name)
	case replicas < 3:
		return false, fmt.Sprintf("stream %s has %d replica(s) on file storage: a server crash may lose events it acknowledged unless the server runs with sync_interval: always; use 3 replicas in production", c.Name, replicas)
	}
	return true, fmt.Sprintf("stream %s keeps events on file storage with %d replicas", c.Name, replicas)
}
