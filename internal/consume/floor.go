package consume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// ackFloor is a consumer's ack floor as kept in BRIDGE_STATE_BUCKET under
// "<stream>.<consumer>": every message of the stream up to Sequence was
// acknowledged. StreamID ties it to one stream, so that the floor of a
// deleted stream never skips messages of a new one of the same name.
type ackFloor struct {
	StreamID string    `json:"stream_id"`
	Sequence uint64    `json:"ack_floor"`
	At       time.Time `json:"at"`
}

// floorKey is where the ack floor of the consumer the bridge reads is kept.
func (j *JetStream) floorKey() string {
	return j.cfg.Bridge.Stream + "." + j.cfg.ReadingConsumer()
}

// openFloors opens BRIDGE_STATE_BUCKET, creating it with as many replicas
// as the stream has when it is missing (never in bind-only mode). It tries
// once per process, for at most a few seconds: without the bucket the ack
// floor is kept in memory only, which is said once, and reading goes on.
func (j *JetStream) openFloors(ctx context.Context, replicas int) {
	j.mu.Lock()
	tried := j.floorsTried
	j.floorsTried, j.floorReplicas = true, replicas
	j.mu.Unlock()
	if tried {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	bucket := j.cfg.Bridge.StateBucket
	kv, err := j.js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && j.cfg.Bridge.BindOnly {
		j.log.Info().Str("bucket", bucket).Msg("BRIDGE_BIND_ONLY: no key-value bucket BRIDGE_STATE_BUCKET to keep the ack floor in, and the bridge creates none; it is kept in memory only")
		return
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = j.js.CreateKeyValue(ctx, natsconn.StateBucketConfig(bucket, replicas))
	}
	if err != nil {
		j.log.Warn().Err(err).Str("bucket", bucket).
			Msg("cannot keep the ack floor in NATS (grant the bridge's NATS user the key-value bucket BRIDGE_STATE_BUCKET, see `bridge permissions`); it is kept in memory only, and a consumer deleted while no bridge runs starts by BRIDGE_CONSUMER_START")
		return
	}
	j.mu.Lock()
	j.floors = kv
	j.mu.Unlock()
}

// savedFloor reads the ack floor kept for streamID; zero when there is
// none. A record that cannot be read or does not parse is an error, never
// "no floor": starting as BRIDGE_CONSUMER_START says would send again what
// was billed. So is a record deleted or purged, unless the operator set
// BRIDGE_CONSUMER_START explicitly, saying where to start without it.
func (j *JetStream) savedFloor(ctx context.Context, streamID string, state jetstream.StreamState) (ackFloor, error) {
	j.mu.Lock()
	kv, mem := j.floors, j.floor
	j.mu.Unlock()
	var saved ackFloor
	if kv != nil {
		e, err := kv.Get(ctx, j.floorKey())
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound) && mem.StreamID != streamID && !j.cfg.Bridge.ConsumerStartSet:
			how, at, err := j.removedFloor(ctx)
			if err != nil {
				return ackFloor{}, fmt.Errorf("cannot tell whether the ack floor %s in BRIDGE_STATE_BUCKET %s was deleted: %w", j.floorKey(), j.cfg.Bridge.StateBucket, err)
			}
			if how != "" {
				return ackFloor{}, fmt.Errorf("the ack floor record %s in BRIDGE_STATE_BUCKET %s was %s at %s, so a floor existed for stream %s, which holds sequences %d to %d. Refusing to create the consumer by BRIDGE_CONSUMER_START's default (%q), which could send again what was billed: %s",
					j.floorKey(), j.cfg.Bridge.StateBucket, how, at.UTC().Format(time.RFC3339), j.cfg.Bridge.Stream, state.FirstSeq, state.LastSeq, j.cfg.Bridge.ConsumerStart, j.floorWaysOut())
			}
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return ackFloor{}, fmt.Errorf("cannot read the ack floor %s in BRIDGE_STATE_BUCKET %s: %w", j.floorKey(), j.cfg.Bridge.StateBucket, err)
		default:
			if err := json.Unmarshal(e.Value(), &saved); err != nil {
				return ackFloor{}, fmt.Errorf("the ack floor record %s in BRIDGE_STATE_BUCKET %s does not parse (%v): %s", j.floorKey(), j.cfg.Bridge.StateBucket, err, j.floorWaysOut())
			}
		}
	}
	if saved.StreamID != streamID {
		saved = ackFloor{}
	}
	if mem.StreamID == streamID && mem.Sequence > saved.Sequence {
		saved = mem
	}
	return saved, nil
}

// removedFloor tells how the floor record was removed ("deleted" by nats
// kv del, "purged" by nats kv purge or the bucket's limits), from the
// marker the bucket keeps in its place; "" when the key was never written.
// KeyValue.Get answers ErrKeyNotFound for both, so the marker is read as a
// message of the bucket's stream, by the direct get the bridge may use.
func (j *JetStream) removedFloor(ctx context.Context) (how string, at time.Time, err error) {
	bucket := j.cfg.Bridge.StateBucket
	s, err := j.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return "", time.Time{}, err
	}
	m, err := s.GetLastMsgForSubject(ctx, "$KV."+bucket+"."+j.floorKey())
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	switch op, reason := m.Header.Get("KV-Operation"), m.Header.Get("Nats-Marker-Reason"); {
	case op == "DEL":
		return "deleted", m.Time, nil
	case op == "PURGE" || reason != "":
		return "purged", m.Time, nil
	}
	return "", time.Time{}, nil
}

// checkFloor refuses a floor above the stream's last sequence: the
// consumer would skip every message up to it, now and to come (a stream
// restored from a backup or rolled back, or another incarnation's record).
// A floor below the stream's first message skips nothing: the consumer
// starts at the first message the stream holds. It is said, for messages
// may have left the stream unbilled (limits, or a work queue whose floor
// was saved a moment before the last acks).
func (j *JetStream) checkFloor(f ackFloor, state jetstream.StreamState) error {
	if f.Sequence > state.LastSeq {
		return fmt.Errorf("the ack floor %d kept in BRIDGE_STATE_BUCKET %s (%s, saved %s) is ahead of stream %s, which holds sequences %d to %d: the stream was restored or rolled back, or the record is another's. Refusing to create the consumer, which would skip every event up to %d: %s",
			f.Sequence, j.cfg.Bridge.StateBucket, j.floorKey(), f.At.Format(time.RFC3339), j.cfg.Bridge.Stream, state.FirstSeq, state.LastSeq, f.Sequence, j.floorWaysOut())
	}
	if state.FirstSeq > 0 && f.Sequence+1 < state.FirstSeq {
		j.log.Warn().Uint64("ack_floor", f.Sequence).Uint64("first_seq", state.FirstSeq).Str("stream", j.cfg.Bridge.Stream).
			Msg("the ack floor is behind the stream's first message: the consumer starts at the first message the stream holds; messages between them left the stream (its limits) and were not delivered by this consumer")
	}
	return nil
}

// floorWaysOut is what an operator does about a floor the bridge refuses.
func (j *JetStream) floorWaysOut() string {
	return fmt.Sprintf("fix the record to the last sequence Konnect holds (nats kv put %s %s '{\"stream_id\":\"…\",\"ack_floor\":N}'), or delete it (nats kv del %s %s) and set BRIDGE_CONSUMER_START explicitly, where the consumer then starts (new or an RFC 3339 time leaves what was billed alone; all sends the whole stream again)",
		j.cfg.Bridge.StateBucket, j.floorKey(), j.cfg.Bridge.StateBucket, j.floorKey())
}

// noteFloor records the consumer's ack floor when it moved, in memory and
// in the bucket.
func (j *JetStream) noteFloor(ctx context.Context, streamID string, info *jetstream.ConsumerInfo) {
	if info == nil || info.AckFloor.Stream == 0 {
		return
	}
	f := ackFloor{StreamID: streamID, Sequence: info.AckFloor.Stream, At: time.Now().UTC()}
	j.mu.Lock()
	if f.StreamID != j.floor.StreamID || f.Sequence > j.floor.Sequence {
		j.floor = f
	}
	kv, saved := j.floors, j.saved
	j.mu.Unlock()
	if kv == nil || saved == f.StreamID+"-"+strconv.FormatUint(f.Sequence, 10) {
		return
	}
	b, _ := json.Marshal(f)
	_, err := kv.Put(ctx, j.floorKey(), b)
	if bucketGone(err) {
		kv, err = j.reopenFloors(ctx, b)
	}
	if err != nil {
		j.log.Warn().Err(err).Msg("could not save the ack floor in BRIDGE_STATE_BUCKET; retrying at the next check")
		return
	}
	j.mu.Lock()
	j.saved = f.StreamID + "-" + strconv.FormatUint(f.Sequence, 10)
	j.mu.Unlock()
}

// bucketGone reports a put that found no bucket to store in: it was
// deleted under the running bridge.
func bucketGone(err error) bool {
	return errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

// reopenFloors creates BRIDGE_STATE_BUCKET again after it was deleted
// under the running bridge and writes the floor in it, so that a later
// start finds the floor rather than nothing (and sends the stream again).
func (j *JetStream) reopenFloors(ctx context.Context, record []byte) (jetstream.KeyValue, error) {
	j.log.Warn().Str("bucket", j.cfg.Bridge.StateBucket).
		Msg("BRIDGE_STATE_BUCKET was deleted while the bridge runs; creating it again and writing the ack floor kept in memory")
	j.mu.Lock()
	old := j.floors
	j.floors, j.floorsTried, j.saved = nil, false, ""
	replicas := j.floorReplicas
	j.mu.Unlock()
	j.openFloors(ctx, replicas)
	j.mu.Lock()
	kv := j.floors
	if kv == nil {
		// Not created (JetStream away a moment, bind-only, no right):
		// keep the old handle, so that the next save tries again rather
		// than the floor staying in memory for the rest of the process.
		j.floors = old
	}
	j.mu.Unlock()
	if kv == nil {
		return old, fmt.Errorf("BRIDGE_STATE_BUCKET %s is gone and could not be created again", j.cfg.Bridge.StateBucket)
	}
	_, err := kv.Put(ctx, j.floorKey(), record)
	if err == nil && j.emitter.dlq != nil {
		if err := j.emitter.dlq.KeepSeal(ctx, kv); err != nil {
			j.log.Warn().Err(err).Msg("could not write the dead-letter key into BRIDGE_STATE_BUCKET again: a bridge started later seals with another key")
		}
	}
	return kv, err
}

// SaveFloor records the consumer's ack floor now; call it once the last
// acks of a stop are sent, so that a consumer deleted while no bridge runs
// is recreated after everything that was delivered.
func (j *JetStream) SaveFloor(ctx context.Context) {
	b := j.bound()
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if info, err := b.cons.Info(ctx); err == nil {
		j.noteFloor(ctx, b.streamID, info)
	}
}

// startAt sets where a consumer that does not exist starts: after the ack
// floor kept for its stream when there is one, else as
// BRIDGE_CONSUMER_START says. It says which it chose, and why, and refuses
// a floor it cannot trust (see savedFloor and checkFloor).
func (j *JetStream) startAt(ctx context.Context, cc *jetstream.ConsumerConfig, streamID string, state jetstream.StreamState) error {
	ev := j.log.Info().Str("stream", j.cfg.Bridge.Stream).Str("consumer", cc.Durable)
	f, err := j.savedFloor(ctx, streamID, state)
	if err != nil {
		return err
	}
	if f.Sequence > 0 {
		if err := j.checkFloor(f, state); err != nil {
			return err
		}
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, f.Sequence+1
		ev.Uint64("start_seq", f.Sequence+1).Time("acked_until", f.At).
			Msg("creating the consumer after its last acknowledged message, as kept in BRIDGE_STATE_BUCKET, so that what was billed is not sent again")
		return nil
	}
	at, _ := j.cfg.StartTime()
	switch {
	case !at.IsZero():
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &at
		ev = ev.Time("start_time", at)
	case j.cfg.Bridge.ConsumerStart == config.StartNew:
		cc.DeliverPolicy = jetstream.DeliverNewPolicy
	default:
		cc.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	ev.Str("start", j.cfg.Bridge.ConsumerStart).Msg(fmt.Sprintf(
		"creating a new consumer with no ack floor on record for this stream: starting as BRIDGE_CONSUMER_START=%s says (%s)",
		j.cfg.Bridge.ConsumerStart, startMeaning(j.cfg.Bridge.ConsumerStart)))
	return nil
}

func startMeaning(start string) string {
	switch start {
	case config.StartAll:
		return "every message the stream holds; Konnect deduplicates what it already has within its deduplication window"
	case config.StartNew:
		return "only messages stored from now on; what the stream holds already is never billed"
	}
	return "messages stored from that time on"
}
