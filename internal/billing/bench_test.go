package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// BenchmarkBillingCheck measures one billing check over a window of
// delivered runs of 50 customers, subscriptions cached as the running
// bridge keeps them. It runs on the watcher's goroutine, never on the
// delivery path, at most billing.ScanLimit events a BRIDGE_BILLING_CHECK:
// ns/event times ScanLimit is the most one check costs.
func BenchmarkBillingCheck(b *testing.B) {
	const runs, customers = 2000, 50
	opts := []sandbox.Option{sandbox.WithGuide()}
	for i := range customers {
		opts = append(opts, sandbox.WithCustomer(sandbox.Customer{Key: fmt.Sprintf("tenant-%d", i), Name: "Tenant"}),
			sandbox.WithSubscription(sandbox.Subscription{CustomerKey: fmt.Sprintf("tenant-%d", i), PlanKey: sandbox.GuidePlan.Key, ActiveFrom: time.Now().Add(-2 * time.Hour)}))
	}
	s := newStage(b, opts...)
	events := make([]map[string]any, 0, runs)
	for i := range runs {
		events = append(events, event(fmt.Sprint(i), fmt.Sprintf("tenant-%d", i%customers), map[string]any{"agent_name": "summarizer"}, time.Now()))
	}
	s.publish(b, events...)
	p := billing.Preflight{Client: s.client, Stream: s.stream, Cache: billing.NewCache(time.Hour, 0)}
	p.Check(context.Background(), billing.NewSeen(1000), lastHour(), 0) // fill the cache
	b.ResetTimer()
	for b.Loop() {
		r := p.Check(context.Background(), billing.NewSeen(1000), lastHour(), 0)
		if r.Events != runs || len(r.Findings) != 0 {
			b.Fatalf("%d events, findings %v", r.Events, r.Findings)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*runs), "ns/event")
}
