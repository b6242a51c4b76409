package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Snapshot is what an operator asks first, read from the metrics.
type Snapshot struct {
	Received     float64
	Delivered    float64
	DeadLettered float64
	// Lag is the consumer's pending messages, AckPending those delivered
	// to the bridge and not yet acked, both as last read from JetStream.
	Lag             float64
	AckPending      float64
	BatchesInFlight float64
	// LastDelivery is zero before the first batch Konnect accepted.
	LastDelivery time.Time
}

// Snapshot reads the counters and gauges now.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{
		Received:        total(m.EventsReceived),
		Delivered:       total(m.EventsDelivered),
		DeadLettered:    total(m.EventsDeadLettered),
		Lag:             total(m.ConsumerPending),
		AckPending:      total(m.ConsumerAckPending),
		BatchesInFlight: total(m.BatchesInFlight),
	}
	if t := total(m.LastDelivery); t > 0 {
		s.LastDelivery = time.Unix(int64(t), 0).UTC()
	}
	return s
}

// total adds up every series of a counter or gauge (of each label value).
func total(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 8)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var sum float64
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) == nil {
			sum += d.GetCounter().GetValue() + d.GetGauge().GetValue()
		}
	}
	return sum
}
