package consume

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// IDBaseMetadata is the stream metadata key that holds the stream's id
// base. The bridge records it in every stream it creates, so that a stream
// restored from a backup, which gets a new creation time but keeps its
// metadata and sequences, derives the same ids as before. An operator may
// set it on a stream they create.
const IDBaseMetadata = "konnect-bridge.id-base"

func identityAt(name string, t time.Time) string {
	return name + "-" + strconv.FormatInt(t.UnixNano(), 36)
}

// foreign reports whether a message fetched through b, stored at stored,
// may come from another stream than b's, so that b's identity must not
// give its ids. What b fetched before its stream was replaced came from
// b's stream and keeps b's identity, even after a rebind. But an iterator
// whose pulls were all answered when its consumer was deleted never hears
// of it, and pulls again from the consumer of the same name on the new
// stream: a message stored no earlier than the new stream was created
// comes from there. A deletion can also go unseen while disconnected, so
// after a reconnect the stream is looked up once.
func (j *JetStream) foreign(ctx context.Context, b *binding, stored time.Time) bool {
	if cur := j.bound(); cur.streamID != b.streamID && !stored.Before(cur.created) {
		return true
	}
	n := j.js.Conn().Stats().Reconnects
	if n == b.reconnects.Load() {
		return false
	}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := j.js.Stream(ictx, j.cfg.Bridge.Stream)
	if err != nil || StreamIdentity(s.CachedInfo()) != b.streamID {
		return true
	}
	b.reconnects.Store(n)
	return false
}

// createStream creates the stream the bridge reads, recording its id base
// in the stream's metadata.
func (j *JetStream) createStream(ctx context.Context) (jetstream.Stream, error) {
	name := j.cfg.Bridge.Stream
	return j.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: "agent runs for konnect-bridge to deliver to Konnect",
		Subjects:    []string{j.cfg.Bridge.Subject},
		Storage:     jetstream.FileStorage,
		MaxAge:      StreamMaxAge,
		Metadata:    map[string]string{IDBaseMetadata: identityAt(name, time.Now())},
	})
}
