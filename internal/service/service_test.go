package service_test

import (
	"slices"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/service"
)

// The status says what the metrics and readiness say, and that delivery
// is held, and why, while Konnect refuses the token or asked to wait.
func TestStatusSaysWhyDeliveryIsHeld(t *testing.T) {
	h, m := health.New(nil), metrics.New()
	h.Set(health.NATS, true, "")
	h.Set(health.Consumer, true, "")
	m.EventsDelivered.Add(3)
	m.EventsDeadLettered.WithLabelValues("invalid").Inc()
	m.ConsumerPending.Set(42)
	m.BatchesInFlight.Set(2)
	if st := service.Read(h, m); st.Held || !st.Ready || st.Delivered != 3 || st.DeadLettered != 1 || st.Lag != 42 || st.BatchesInFlight != 2 {
		t.Errorf("running: %+v", st)
	}
	const why = "Konnect answers 401: the token is not accepted; set KONNECT_TOKEN"
	h.Set(health.KonnectAuth, false, why)
	st := service.Read(h, m)
	if !st.Held || st.HeldReason != why || st.Ready || !slices.Contains(st.NotReady, "konnect_auth: "+why) {
		t.Errorf("Konnect refusing the token: %+v", st)
	}
}
