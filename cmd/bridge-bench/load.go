package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/consume"

	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// Stream and subject as the bridge's defaults name them.
const (
	streamName = "AGENT_RUNS"
	subjects   = "agent.runs.>"
	subject    = "agent.runs.bench"
)

// startNATS runs a NATS server with JetStream inside the bench process,
// storing in dir, with maxPayload as its max_payload (0: the server's
// default, 1 MiB).
func startNATS(dir string, maxPayload int32) (*server.Server, error) {
	return natsconn.StartServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: dir, NoSigs: true, NoLog: true,
		JetStreamMaxMemory: 1 << 30, JetStreamMaxStore: 64 << 30,
		MaxPayload: maxPayload,
	})
}

// freshStream deletes the stream (and with it every consumer) and creates
// it again as the bridge would: file storage, the bridge's subjects.
func freshStream(ctx context.Context, js jetstream.JetStream) error {
	if err := js.DeleteStream(ctx, streamName); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream: %w", err)
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: streamName, Subjects: []string{subjects},
		Storage: jetstream.FileStorage, MaxAge: consume.StreamMaxAge,
	})
	if err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	return nil
}

// agentRun appends agent run n as a producer publishes it: a structured
// CloudEvent with an id and a time, or without either when noID (the bridge
// then derives the id from the stream sequence and stamps the stored time).
func agentRun(b []byte, id string, n int, noID bool) []byte {
	b = append(b, `{"specversion":"1.0",`...)
	if !noID {
		b = append(b, `"id":"`...)
		b = append(b, id...)
		b = append(b, `","time":"2026-11-27T08:00:00.123Z",`...)
	}
	b = append(b, `"source":"acme-platform","type":"agent_run","subject":"customer-`...)
	b = strconv.AppendInt(b, int64(n%1000), 10)
	b = append(b, `","datacontenttype":"application/json","data":{"agent_name":"summarizer","model":"gpt-5-mini","input_tokens":`...)
	b = strconv.AppendInt(b, int64(1000+n%7919), 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(100+n%997), 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, int64(200+n%4999), 10)
	return append(b, `}}`...)
}

// stallWait lets an asynchronous publish wait for room among the pending
// ones, rather than fail after 200ms when the machine is busy.
var stallWait = jetstream.WithStallWait(30 * time.Second)

// agentRuns are the messages of the CloudEvents backlog: agent run i on
// subject, every noIDEvery-th one without an id (none when 0).
func agentRuns(noIDEvery int) func(buf []byte, i int) ([]byte, string) {
	return func(buf []byte, i int) ([]byte, string) {
		noID := noIDEvery > 0 && i%noIDEvery == 0
		return agentRun(buf, "run-"+strconv.Itoa(i), i, noID), subject
	}
}

// preload stores n messages, message i and its subject appended to buf by
// next, with asynchronous publishing, and returns how long it took.
func preload(ctx context.Context, js jetstream.JetStream, n int, next func(buf []byte, i int) ([]byte, string)) (time.Duration, error) {
	start := time.Now()
	var buf []byte
	for i := range n {
		var subject string
		buf, subject = next(buf[:0], i)
		// PublishAsync keeps the slice until it is sent: give it its own.
		if _, err := js.PublishAsync(subject, append([]byte(nil), buf...), stallWait); err != nil {
			return 0, fmt.Errorf("publish event %d: %w", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return time.Since(start), nil
}

// steadyEvents is how many events publishAtRate publishes.
func steadyEvents(rate int, d time.Duration) int { return int(float64(rate) * d.Seconds()) }

// publishAtRate publishes agent runs "lat-0", "lat-1", ... at a steady
// rate for d and returns when each was handed to NATS.
func publishAtRate(ctx context.Context, js jetstream.JetStream, rate int, d time.Duration) ([]time.Time, error) {
	n := steadyEvents(rate, d)
	sent := make([]time.Time, n)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		data := agentRun(nil, latencyPrefix+strconv.Itoa(i), i, false)
		sent[i] = time.Now()
		if _, err := js.PublishAsync(subject, data, stallWait); err != nil {
			return nil, fmt.Errorf("publish event %d: %w", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return sent, nil
}
