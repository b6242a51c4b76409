package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	cenats "github.com/cloudevents/sdk-go/protocol/nats/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

// guideRuns are the three runs of the Konnect guide, with its ids: two
// summarizer runs and one translator run for the customer acme-inc.
var guideRuns = []struct{ id, agent string }{
	{"8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "summarizer"},
	{"3EC7EFD0-5B78-47A4-AE9E-15965675CF95", "summarizer"},
	{"48FC220C-C124-4B73-B378-7DC5CF88DD1A", "translator"},
}

func emitFlags(fs *flag.FlagSet) action {
	subject := fs.String("to", "agent.runs.acme", "NATS subject to publish on")
	customer := fs.String("customer", "acme-inc", "the event's subject: the customer billed")
	agent := fs.String("agent", "summarizer", "data.agent_name")
	source := fs.String("source", "acme-platform", "the event's source")
	id := fs.String("id", "", "the event's id (default: a new UUID)")
	noID := fs.Bool("no-id", false, "publish without an id: the bridge derives one")
	binary := fs.Bool("binary", false, "binary mode: attributes in ce- headers, data as the payload")
	count := fs.Int("count", 1, "how many events to publish")
	guide := fs.Bool("guide", false, "publish the guide's three runs (two summarizer, one translator) with the guide's ids")
	return func(ctx context.Context, cfg config.Config, _ *flag.FlagSet, stdout io.Writer) error {
		if strings.TrimSpace(*customer) == "" {
			return fmt.Errorf("--customer is empty: the run would bill no one (Konnect refuses an event without a subject); name the customer's key or subject key, such as --customer acme-inc")
		}
		// Whatever else Konnect would refuse is said before anything is
		// published: the run is checked by the rules delivery applies.
		sample := agentRunEvent(*source, *customer, cmp.Or(*id, "emit"), *agent, time.Now())
		if err := event.Validate(&sample); err != nil {
			return fmt.Errorf("Konnect would refuse this run (%v): fix --source, --customer, --id or --agent", err)
		}
		nc, js, err := openNATS(ctx, cfg)
		if err != nil {
			return err
		}
		defer nc.Close()
		type run struct{ id, agent string }
		var runs []run
		if *guide {
			for _, g := range guideRuns {
				runs = append(runs, run{g.id, g.agent})
			}
		} else {
			for range *count {
				r := run{id: *id, agent: *agent}
				if r.id == "" && !*noID {
					r.id = uuid.NewString()
				}
				runs = append(runs, r)
			}
		}
		now := time.Now().UTC().Truncate(time.Second)
		for _, r := range runs {
			msg := agentRun(*subject, *source, *customer, r.id, r.agent, now, *binary)
			ack, err := publishStored(ctx, js, msg)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "published agent_run id=%q agent=%s customer=%s on %s (stream %s seq %d)\n", r.id, r.agent, *customer, *subject, ack.Stream, ack.Sequence)
		}
		return nil
	}
}

// agentRun builds the guide's event, structured or in binary mode.
func agentRun(subject, source, customer, id, agent string, t time.Time, binary bool) *nats.Msg {
	msg := nats.NewMsg(subject)
	data, _ := json.Marshal(map[string]string{"agent_name": agent})
	if binary {
		msg.Header.Set("ce-specversion", "1.0")
		msg.Header.Set("ce-type", "agent_run")
		msg.Header.Set("ce-source", source)
		msg.Header.Set("ce-subject", customer)
		msg.Header.Set("ce-time", t.Format(time.RFC3339))
		if id != "" {
			msg.Header.Set("ce-id", id)
		}
		msg.Header.Set("Content-Type", "application/json")
		msg.Data = data
		return msg
	}
	// Structured mode, written the way producers using the CloudEvents
	// SDK's NATS binding write it.
	ev := agentRunEvent(source, customer, id, agent, t)
	var buf bytes.Buffer
	_ = cenats.WriteMsg(context.Background(), binding.ToMessage(&ev), &buf)
	msg.Data = buf.Bytes()
	return msg
}

// agentRunEvent is the guide's event as a CloudEvent.
func agentRunEvent(source, customer, id, agent string, t time.Time) ce.Event {
	ev := ce.New(ce.CloudEventsVersionV1)
	ev.SetType("agent_run")
	ev.SetSource(source)
	ev.SetSubject(customer)
	ev.SetTime(t)
	ev.SetID(id)
	data, _ := json.Marshal(map[string]string{"agent_name": agent})
	_ = ev.SetData(ce.ApplicationJSON, json.RawMessage(data))
	return ev
}

// publishStored publishes through JetStream and waits until the stream has
// stored it, retrying while the stream does not exist yet (a demo producer
// may start before the bridge created it).
func publishStored(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ack, err := js.PublishMsg(ctx, msg)
		if err == nil {
			return ack, nil
		}
		if !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
			return nil, fmt.Errorf("publish to %s: %w", msg.Subject, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("publish to %s: no stream stores this subject (start the bridge, which creates it): %w", msg.Subject, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
