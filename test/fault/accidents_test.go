package fault_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// Everyday accidents, as an operator makes them with real processes:
//
//  1. the bridge started without its token (BRIDGE_SANDBOX=true, as the
//     compose stack sets) against NATS holding real runs: the sandbox shows
//     them and leaves them to bill;
//  2. the bridge started again with the token: every run is billed;
//  3. the durable consumer deleted while no bridge runs, then the bridge
//     started again: it resumes after the last acknowledged run, and
//     nothing is posted to Konnect twice.
func TestAccidentsBillNothingTwiceAndLoseNothing(t *testing.T) {
	s := newSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"agent.runs.>"}}); err != nil {
		t.Fatal(err)
	}
	p := s.produce(newProducer(s.js), 60, time.Millisecond)
	p.wait(t)

	sb := s.startBridge("sandbox", "KONNECT_TOKEN=", "KONNECT_URL=", "BRIDGE_SANDBOX=true")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, body := sb.get("/sandbox/usage")
		var u struct{ Events int }
		return json.Unmarshal(body, &u) == nil && u.Events == p.count()
	}, "the sandbox never showed the %d runs", p.count())
	if code, _ := sb.terminate(t, 10*time.Second); code != 0 {
		t.Fatalf("the sandbox bridge exited %d", code)
	}
	if n := len(s.konnect.Requests()); n != 0 {
		t.Fatalf("Konnect got %d requests while the sandbox ran", n)
	}

	billing := s.startBridge("billing")
	s.assertDelivered(p)
	if code, _ := billing.terminate(t, 10*time.Second); code != 0 {
		t.Fatalf("the billing bridge exited %d", code)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if err := s.js.DeleteConsumer(dctx, stream, consumer); err != nil {
		t.Fatal(err)
	}
	s.startBridge("billing-again")
	const more = 20
	for i := range more {
		r := testkit.Run{ID: fmt.Sprintf("after-%02d", i), Source: runSource, Subject: "acme-inc", Agent: "summarizer"}
		testkit.Publish(t, s.js, "agent.runs.acme-inc", r.JSON())
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return len(s.konnect.IDs()) == p.count()+more },
		"Konnect holds %v runs, want %d", lazy(func() string { return fmt.Sprint(len(s.konnect.IDs())) }), p.count()+more)
	if got, want := s.konnect.AcceptedEvents(), p.count()+more; got != want {
		t.Errorf("Konnect was sent %d events for %d runs: the history was posted again after the consumer was recreated", got, want)
	}
}
