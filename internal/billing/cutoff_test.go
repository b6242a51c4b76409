package billing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// hourly subscribes the customer hourly-co to a plan billed every hour
// from activeFrom: its service periods end every hour from then, each
// invoice counting what Konnect stored up to an hour after (PT1H).
func hourly(activeFrom time.Time) []sandbox.Option {
	return []sandbox.Option{
		sandbox.WithGuide(),
		sandbox.WithCustomer(sandbox.Customer{Key: "hourly-co", Name: "Hourly Co."}),
		sandbox.WithPlan(sandbox.Plan{Key: "hourly", Name: "Hourly", Cadence: "PT1H", RateCards: sandbox.GuidePlan.RateCards}),
		sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "hourly-co", PlanKey: "hourly", ActiveFrom: activeFrom}),
	}
}

func run(id, subject string, at time.Time) map[string]any {
	return event(id, subject, map[string]any{"agent_name": "summarizer"}, at)
}

// billingFindings polls the running bridge's /billing until a finding of
// kind is there, and returns it.
func billingFinding(t *testing.T, b *testkit.Bridge, kind string) billing.Finding {
	t.Helper()
	var found billing.Finding
	testkit.Eventually(t, 20*time.Second, func() bool {
		var r billing.Report
		code, body := get(t, "http://"+b.AdminAddr+"/billing")
		if code != http.StatusOK || json.Unmarshal(body, &r) != nil {
			return false
		}
		for _, f := range r.Findings {
			if f.Kind == kind {
				found = f
				return true
			}
		}
		return false
	}, "no %s finding on /billing", kind)
	return found
}

// TestBacklogOfAClosingPeriodIsReported: Konnect refuses the bridge's
// token while hourly-co's period closes. The running bridge holds its
// three runs and says, before
// the cutoff, that they will miss the period's invoice, when, and why;
// acme-inc's monthly period is far from closing and is not reported.
func TestBacklogOfAClosingPeriodIsReported(t *testing.T) {
	activeFrom := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	s := newStage(t, hourly(activeFrom)...)
	s.sb.SetFault(sandbox.Answer(http.StatusUnauthorized, 0)) // a token Konnect refuses: everything is held
	now := time.Now()
	s.publish(t, run("h-1", "hourly-co", now.Add(-20*time.Minute)), run("h-2", "hourly-co", now), run("h-3", "hourly-co", now),
		run("a-1", "acme-inc", now))

	cfg := testkit.Config(s.natsURL, s.ingestURL)
	cfg.Konnect.Token = ""
	cfg.Billing.CheckInterval = time.Minute
	b := testkit.StartBridge(t, cfg)
	f := billingFinding(t, b, billing.PeriodClosing)

	end := activeFrom.Add(time.Hour)
	if f.Customer != "hourly-co" || f.Events != 3 || f.Waiting != 3 || f.DeadLettered != 0 {
		t.Errorf("closing: %s with %d events (%d waiting, %d dead-lettered), want hourly-co with 3 waiting", f.Customer, f.Events, f.Waiting, f.DeadLettered)
	}
	if !f.PeriodEnd.Equal(end) || !f.Cutoff.Equal(end.Add(time.Hour)) {
		t.Errorf("period end %s, cutoff %s; want %s and an hour later", f.PeriodEnd, f.Cutoff, end)
	}
	if want := now.Add(-20 * time.Minute).UTC().Truncate(time.Second); !f.Since.Equal(want) {
		t.Errorf("oldest undelivered event %s, want %s", f.Since, want)
	}
	if !strings.Contains(f.Fix, "3 event(s) of the period ending "+end.Format(time.RFC3339)+" for hourly-co will miss its invoice in") ||
		!strings.Contains(f.Fix, "3 wait in the stream") {
		t.Errorf("fix %q does not say what misses the invoice and why", f.Fix)
	}
	testkit.Eventually(t, 5*time.Second, func() bool {
		return gauge(t, b.Metrics, `konnect_bridge_billing_period_close_events{state="closing"}`) == 3
	}, "the closing gauge is not 3")
	if v := gauge(t, b.Metrics, `konnect_bridge_billing_period_close_events{state="missed"}`); v != 0 {
		t.Errorf("missed gauge = %v, want 0", v)
	}
	left := gauge(t, b.Metrics, "konnect_bridge_billing_period_cutoff_seconds")
	if max := time.Until(f.Cutoff).Seconds() + 5; left <= 0 || left > max {
		t.Errorf("seconds to the cutoff = %v, want up to %v", left, max)
	}
	if _, page := get(t, "http://"+b.AdminAddr+"/"); !strings.Contains(string(page), "for hourly-co will miss its invoice in") {
		t.Errorf("the status page does not say the runs will miss their invoice")
	}
}

// TestDeadLettersOfAClosedPeriodAreMissed: Konnect refused two runs of
// hourly-co's previous period, whose cutoff has passed; the dead letters
// are reported missed, with the command that lists them. A run of the
// current period, delivered, is not reported.
func TestDeadLettersOfAClosedPeriodAreMissed(t *testing.T) {
	activeFrom := time.Now().UTC().Truncate(time.Minute).Add(-150 * time.Minute)
	refuse := sandbox.WithReject(func(e sandbox.Event) string {
		if strings.HasPrefix(e.ID, "late-") {
			return "refused " + e.ID
		}
		return ""
	})
	s := newStage(t, append(hourly(activeFrom), refuse)...)
	cfg := testkit.Config(s.natsURL, s.ingestURL)
	cfg.Konnect.Token = ""
	b := testkit.StartBridge(t, cfg)
	old := activeFrom.Add(10 * time.Minute) // in [activeFrom, +1h): cut off an hour ago
	s.publish(t, run("late-1", "hourly-co", old), run("late-2", "hourly-co", old.Add(time.Minute)))

	_, js := testkit.Connect(t, s.natsURL)
	letters := deadletter.NewDeadLetters(js, cfg, zerolog.Nop(), metrics.New(), nil)
	testkit.Eventually(t, 20*time.Second, func() bool { return deadLetters(t, letters) == 2 }, "the refused runs were not dead-lettered")
	// One not sealed by the bridge, written by someone else: not counted.
	forged := nats.NewMsg(cfg.Bridge.DLQSubject + ".rejected")
	forged.Header.Set(deadletter.HeaderSubject, "agent.runs.acme")
	forged.Data, _ = json.Marshal(run("forged-1", "hourly-co", old))
	if _, err := js.PublishMsg(context.Background(), forged); err != nil {
		t.Fatal(err)
	}
	s.publish(t, run("now-1", "hourly-co", time.Now()))
	testkit.Eventually(t, 20*time.Second, func() bool { return len(s.sb.Events()) == 1 }, "the run of the current period was not delivered")
	waitAckFloor(t, s.js, cfg, 3)
	b.Stop(t)

	st, _ := billing.StreamOf(s.js, cfg)
	p := billing.Preflight{Client: s.client, Stream: st, Warning: 2 * time.Hour,
		Undelivered: &billing.Undelivered{Stream: st, Consumer: cfg.Bridge.Consumer, Letters: letters, Limit: billing.ScanLimit}}
	r := p.Check(context.Background(), billing.NewSeen(10), lastHour(), billing.ScanLimit)
	var periods []billing.Finding
	for _, f := range r.Findings {
		if f.Kind == billing.PeriodClosing || f.Kind == billing.PeriodMissed {
			periods = append(periods, f)
		}
	}
	if len(periods) != 1 {
		t.Fatalf("period findings %+v, want one, of the closed period; cannot check: %v", periods, r.CannotCheck)
	}
	f := periods[0]
	end := activeFrom.Add(time.Hour)
	if f.Kind != billing.PeriodMissed || f.Customer != "hourly-co" || f.Events != 2 || f.DeadLettered != 2 || f.Waiting != 0 ||
		!f.PeriodEnd.Equal(end) || !f.Cutoff.Equal(end.Add(time.Hour)) {
		t.Errorf("finding %+v, want hourly-co's 2 dead letters of the period ending %s missed", f, end)
	}
	if !strings.Contains(f.Fix, "missed its invoice") || !strings.Contains(f.Fix, "bridge dlq list --original-subject agent.runs.acme") {
		t.Errorf("fix %q does not say the invoice was missed and how to find the dead letters", f.Fix)
	}

	// The footer of `bridge dlq list` reads the same.
	got, cannot := billing.Undelivered{Stream: st, Letters: letters}.PeriodClose(context.Background(), s.client, 2*time.Hour, 10)
	// The fix says how long ago the cutoff passed, which may tick a minute
	// between the two reads.
	ago := regexp.MustCompile(`passed [^)]* ago`)
	if len(got) != 1 || ago.ReplaceAllString(got[0].Fix, "") != ago.ReplaceAllString(f.Fix, "") || got[0].Events != f.Events || len(cannot) != 0 {
		t.Errorf("the dead letters' period close: %+v (cannot check %v), want the same finding", got, cannot)
	}
}

// TestPeriodCloseWithoutReadRights: a token that may not read says it
// cannot check the cutoff, and of how many undelivered events.
func TestPeriodCloseWithoutReadRights(t *testing.T) {
	s := newStage(t, hourly(time.Now().Add(-30*time.Minute))...)
	s.sb.SetReadRights(false)
	s.publish(t, run("h-1", "hourly-co", time.Now()), run("h-2", "hourly-co", time.Now()))
	ctx := context.Background()
	if _, err := s.js.CreateOrUpdateConsumer(ctx, "AGENT_RUNS", jetstream.ConsumerConfig{Durable: "konnect-bridge", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	p := billing.Preflight{Client: s.client, Stream: s.stream, Warning: 2 * time.Hour,
		Undelivered: &billing.Undelivered{Stream: s.stream, Consumer: "konnect-bridge"}}
	r := p.Check(ctx, billing.NewSeen(10), lastHour(), billing.ScanLimit)
	said := strings.Join(r.CannotCheck, "\n")
	if !strings.Contains(said, "the period cutoff of 2 undelivered event(s)") || !strings.Contains(said, "lacks the right to read customers") {
		t.Errorf("cannot check says %q, want the cutoff of 2 undelivered events not checked for want of read rights", said)
	}
	if len(r.Findings) != 0 {
		t.Errorf("findings %+v without read rights", r.Findings)
	}
}

func deadLetters(t *testing.T, d *deadletter.DeadLetters) int {
	t.Helper()
	n := 0
	if err := d.Each(context.Background(), deadletter.Filter{}, func(deadletter.Stored) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitAckFloor waits until the bridge's consumer acknowledged every
// message up to seq.
func waitAckFloor(t *testing.T, js jetstream.JetStream, cfg config.Config, seq uint64) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() bool {
		c, err := js.Consumer(context.Background(), cfg.Bridge.Stream, cfg.Bridge.Consumer)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.AckFloor.Stream >= seq
	}, "the consumer's ack floor did not reach %d", seq)
}

// TestCutoffWithoutTheBillingProfiles: a token that may read customers and
// subscriptions but not the billing profiles says so, and takes OpenMeter's
// default collection interval: a backlog of a closing period is still
// reported, its cutoff an hour after the period ends.
func TestCutoffWithoutTheBillingProfiles(t *testing.T) {
	activeFrom := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	s := natsStage(t)
	s.sb = sandbox.New(hourly(activeFrom)...)
	noProfiles := sandbox.New()
	noProfiles.SetReadRights(false)
	srv := testkit.SpecChecked(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/openmeter/profiles") {
			noProfiles.ServeHTTP(w, r)
			return
		}
		s.sb.ServeHTTP(w, r)
	}))
	client := billing.NewClient(srv.URL+"/v3/openmeter/events", "", 5*time.Second, 2*time.Second)
	ctx := context.Background()
	if _, err := s.js.CreateOrUpdateConsumer(ctx, "AGENT_RUNS", jetstream.ConsumerConfig{Durable: "konnect-bridge", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	s.publish(t, run("h-1", "hourly-co", time.Now()), run("a-1", "acme-inc", time.Now()))

	p := billing.Preflight{Client: client, Stream: s.stream, Warning: 2 * time.Hour,
		Undelivered: &billing.Undelivered{Stream: s.stream, Consumer: "konnect-bridge"}}
	r := p.Check(ctx, billing.NewSeen(10), lastHour(), billing.ScanLimit)
	said := strings.Join(r.CannotCheck, "\n")
	if !strings.Contains(said, "lacks the right to read billing profiles") || !strings.Contains(said, "taken as period end + PT1H") {
		t.Errorf("cannot check says %q, want the billing profiles unread and PT1H taken", said)
	}
	end := activeFrom.Add(time.Hour)
	if r.Count(billing.PeriodClosing) != 1 || r.Count(billing.PeriodMissed) != 0 {
		t.Fatalf("findings %+v, want hourly-co's period closing", r.Findings)
	}
	for _, f := range r.Findings {
		if f.Kind == billing.PeriodClosing && (f.Customer != "hourly-co" || f.Waiting != 1 || !f.Cutoff.Equal(end.Add(time.Hour))) {
			t.Errorf("closing %+v, want hourly-co's 1 waiting event, cut off at %s", f, end.Add(time.Hour))
		}
	}
}
