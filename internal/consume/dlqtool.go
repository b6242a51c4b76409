package consume

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stored is a dead letter as the dead-letter stream keeps it.
type Stored struct {
	Seq     uint64
	Time    time.Time
	Subject string // where the event was first published
	Kind    string
	Reason  string
	Status  int
	Header  nats.Header
	Data    []byte
}

// Each calls fn for every dead letter, oldest first, until fn returns an
// error or none are left.
func (d *DeadLetters) Each(ctx context.Context, fn func(Stored) error) error {
	s, err := d.js.Stream(ctx, d.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // no dead letters yet
	}
	if err != nil {
		return fmt.Errorf("dead-letter stream %s: %w", d.stream, err)
	}
	if s.CachedInfo().State.Msgs == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("read dead-letter stream %s: %w", d.stream, err)
	}
	for {
		batch, err := c.Fetch(100, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		n := 0
		var pending uint64
		for msg := range batch.Messages() {
			n++
			md, err := msg.Metadata()
			if err != nil {
				return err
			}
			pending = md.NumPending
			status, _ := strconv.Atoi(msg.Headers().Get(HeaderStatus))
			if err := fn(Stored{
				Seq: md.Sequence.Stream, Time: md.Timestamp, Subject: msg.Headers().Get(HeaderSubject),
				Kind: msg.Headers().Get(HeaderKind), Reason: msg.Headers().Get(HeaderReason), Status: status,
				Header: msg.Headers(), Data: msg.Data(),
			}); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if n == 0 || pending == 0 {
			return nil
		}
	}
}

// Replay publishes dead letters back onto the subjects they first came on,
// with their original headers and payload, and removes each from the
// dead-letter stream once the consumed stream has stored it. seq 0 replays
// every dead letter; otherwise only that one. It returns how many it sent.
func (d *DeadLetters) Replay(ctx context.Context, seq uint64) (int, error) {
	var todo []Stored
	err := d.Each(ctx, func(s Stored) error {
		if seq == 0 || s.Seq == seq {
			todo = append(todo, s)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if seq != 0 && len(todo) == 0 {
		return 0, fmt.Errorf("no dead letter with sequence %d in %s", seq, d.stream)
	}
	stream, err := d.js.Stream(ctx, d.stream)
	if err != nil {
		return 0, fmt.Errorf("dead-letter stream %s: %w", d.stream, err)
	}
	sent := 0
	for _, s := range todo {
		if s.Subject == "" {
			return sent, fmt.Errorf("dead letter %d has no %s header: cannot tell where to replay it", s.Seq, HeaderSubject)
		}
		m := &nats.Msg{Subject: s.Subject, Header: originalHeaders(s.Header), Data: s.Data}
		ack, err := d.js.PublishMsg(ctx, m)
		if err == nil && ack.Duplicate {
			// The producer's Nats-Msg-Id is still in the stream's duplicate
			// window, which would drop the replay: send it without.
			m.Header.Del(jetstream.MsgIDHeader)
			_, err = d.js.PublishMsg(ctx, m)
		}
		if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
			// No stream captures the subject: the event came from a core
			// NATS producer, so it goes back the same way.
			if err = d.js.Conn().PublishMsg(m); err == nil {
				err = d.js.Conn().FlushTimeout(5 * time.Second)
			}
		}
		if err != nil {
			return sent, fmt.Errorf("replay dead letter %d to %s: %w", s.Seq, s.Subject, err)
		}
		if err := stream.DeleteMsg(ctx, s.Seq); err != nil {
			return sent, fmt.Errorf("replayed dead letter %d but could not remove it: %w", s.Seq, err)
		}
		sent++
	}
	return sent, nil
}
