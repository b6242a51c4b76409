package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	ce "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/nats-io/nats.go/jetstream"
)

// consumeAndAck is the ceiling for any bridge: a durable pull consumer on
// the same stream that only acks, reading n messages with the given
// prefetch and MaxAckPending. It returns the time from the first pull to
// the n-th ack sent.
func consumeAndAck(ctx context.Context, js jetstream.JetStream, name string, n, prefetch, maxAckPending int) (time.Duration, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, streamName, jetstream.ConsumerConfig{
		Durable: name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		MaxAckPending: maxAckPending, MaxDeliver: -1, FilterSubject: subjects,
	})
	if err != nil {
		return 0, fmt.Errorf("create consumer %s: %w", name, err)
	}
	defer func() { _ = js.DeleteConsumer(context.WithoutCancel(ctx), streamName, name) }()
	iter, err := cons.Messages(jetstream.PullMaxMessages(prefetch))
	if err != nil {
		return 0, err
	}
	defer iter.Stop()
	start := time.Now()
	for i := 0; i < n; i++ {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if errors.Is(err, jetstream.ErrNoHeartbeat) {
			// nats.go reports a missed heartbeat and keeps pulling.
			i--
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("message %d of %d: %w", i, n, err)
		}
		if err := msg.Ack(); err != nil {
			return 0, fmt.Errorf("ack message %d: %w", i, err)
		}
	}
	return time.Since(start), nil
}

// onePostPerEvent is the simple approach the bridge is measured against: a
// loop that takes one message from JetStream, reads it with the CloudEvents
// SDK, sends it alone in structured mode (the one Konnect takes for a
// single event) and acks it once the sink accepted it. It handles n
// messages and returns how long they took.
//
// It uses the SDK's own HTTP client (cloudevents.NewClientHTTP) in
// structured mode, one event per request, as a producer would.
func onePostPerEvent(ctx context.Context, js jetstream.JetStream, url string, n int) (time.Duration, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, streamName, jetstream.ConsumerConfig{
		Durable: "bench-one-post", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		MaxDeliver: -1, FilterSubject: subjects,
	})
	if err != nil {
		return 0, err
	}
	defer func() { _ = js.DeleteConsumer(context.WithoutCancel(ctx), streamName, "bench-one-post") }()
	iter, err := cons.Messages()
	if err != nil {
		return 0, err
	}
	defer iter.Stop()
	client, err := cloudevents.NewClientHTTP(
		cehttp.WithTarget(url),
		cehttp.WithHeader("Authorization", "Bearer spat_bench"),
	)
	if err != nil {
		return 0, err
	}
	sendCtx := cloudevents.WithEncodingStructured(ctx)
	start := time.Now()
	for i := range n {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			return 0, fmt.Errorf("message %d of %d: %w", i, n, err)
		}
		e := ce.New()
		if err := e.UnmarshalJSON(msg.Data()); err != nil {
			return 0, fmt.Errorf("message %d: %w", i, err)
		}
		if e.ID() == "" {
			md, err := msg.Metadata()
			if err != nil {
				return 0, err
			}
			e.SetID(streamName + "-" + strconv.FormatUint(md.Sequence.Stream, 10))
		}
		if err := e.Validate(); err != nil {
			return 0, fmt.Errorf("message %d: %w", i, err)
		}
		res := client.Send(sendCtx, e)
		var answer *cehttp.Result
		if !cloudevents.ResultAs(res, &answer) {
			return 0, fmt.Errorf("send event %d: %w", i, res)
		}
		if answer.StatusCode != http.StatusAccepted {
			return 0, fmt.Errorf("send event %d: the sink answered %d", i, answer.StatusCode)
		}
		if err := msg.Ack(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
