package consume

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// IDBaseMetadata is the stream metadata key that holds the stream's id
// base. The bridge records it in every stream it creates, so that a stream
// restored from a backup, which gets a new creation time but keeps its
// metadata and sequences, derives the same ids as before. An operator may
// set it on a stream they create.
const IDBaseMetadata = "konnect-bridge.id-base"

// Provenance is what the source knows about a message that its events may
// need: where it came from, for ids, and when it was stored, for times.
// A JetStream message has a StreamID, fixed when the message was fetched,
// and a Sequence; a core NATS message has a Received id base instead.
type Provenance struct {
	// StreamID tells the stream the message was read from apart from any
	// other of the same name, before or after it (see StreamIdentity).
	StreamID string
	Sequence uint64
	// Received is the id base of a core NATS message, drawn once when it
	// arrived and kept through its retries.
	Received string
	// Stored is when JetStream stored the message, or when a core NATS
	// message arrived.
	Stored time.Time
}

// EventID is the id the i-th of a message's n events is delivered under:
// the producer's id when it has one; else the message's Nats-Msg-Id
// header; else one derived from the message's provenance, the same on
// every redelivery ("<StreamID>-<Sequence>", or the core id base). With
// more than one event, a derived id ends in "/i". It is the one place ids
// are given: whoever must find the ids Konnect holds calls it too.
func EventID(producerID string, h nats.Header, p Provenance, i, n int) string {
	if producerID != "" {
		return producerID
	}
	base := h.Get(jetstream.MsgIDHeader)
	if base == "" {
		base = p.Received
		if p.StreamID != "" {
			base = sequenceID(p.StreamID, p.Sequence)
		}
	}
	if n > 1 {
		base += "/" + strconv.Itoa(i)
	}
	return base
}

// sequenceID is "<streamID>-<sequence>", built in one allocation.
func sequenceID(streamID string, seq uint64) string {
	var buf [96]byte
	b := append(append(buf[:0], streamID...), '-')
	return string(strconv.AppendUint(b, seq, 10))
}

// StreamIdentity is the id base of a stream: the one in its metadata
// (IDBaseMetadata) when there is one, else its name and creation time, so
// that a stream deleted and created again never derives an old id.
func StreamIdentity(info *jetstream.StreamInfo) string {
	if base := info.Config.Metadata[IDBaseMetadata]; base != "" {
		return base
	}
	return identityAt(info.Config.Name, info.Created)
}

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
	j.mu.Lock()
	same := n == b.reconnects
	j.mu.Unlock()
	if same {
		return false
	}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := j.js.Stream(ictx, j.cfg.Bridge.Stream)
	if err != nil || StreamIdentity(s.CachedInfo()) != b.streamID {
		return true
	}
	j.mu.Lock()
	b.reconnects = n
	j.mu.Unlock()
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
