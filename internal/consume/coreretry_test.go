package consume

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// While Konnect fails past the retry budget, core NATS messages without a
// reply subject wait in the bridge to be retried: at most
// BRIDGE_CORE_PENDING of them. The rest are dropped and counted, as NATS
// drops what waits past the limit, so memory stays bounded however long
// the outage lasts.
func TestCoreRetriesWaitingAreBounded(t *testing.T) {
	cfg := config.Defaults()
	cfg.Bridge.CorePending = 3
	m := metrics.New()
	c := NewCore(nil, cfg, zerolog.Nop(), m, nil, nil, Rules{})
	for range 5 {
		c.retry(&nats.Msg{Subject: "core.agent.runs.acme", Data: []byte(`{}`)}, provenance{}, time.Hour)
	}
	var dropped dto.Metric
	if err := m.CoreDropped.Write(&dropped); err != nil {
		t.Fatal(err)
	}
	if got := dropped.GetCounter().GetValue(); got != 2 {
		t.Errorf("%v retries dropped, want the 2 past BRIDGE_CORE_PENDING 3", got)
	}
	c.mu.Lock()
	waiting := len(c.pending)
	for tm := range c.pending {
		tm.Stop()
	}
	c.mu.Unlock()
	if waiting != 3 {
		t.Errorf("%d retries waiting, want 3", waiting)
	}
}
