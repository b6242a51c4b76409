package natsconn

import (
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotBound means that in bind-only mode (BRIDGE_BIND_ONLY) a stream or
// the durable consumer is missing or is not one the bridge can read. The
// bridge does not start: whoever owns them creates or fixes them first.
var ErrNotBound = errors.New("bind-only")

// StateBucketConfig is BRIDGE_STATE_BUCKET as the bridge creates it, with
// as many replicas as the stream it reads: the consumers keep their ack
// floor there, the dead letters their key.
func StateBucketConfig(bucket string, replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "konnect-bridge: the ack floor of each consumer, to recreate a deleted consumer where it was, and the key dead letters are sealed with",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	}
}
