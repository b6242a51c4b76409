package bridge_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// readiness is GET /readyz: its status code and report.
func (e *env) readiness() (int, health.Report) {
	e.t.Helper()
	code, _, body := e.get("/readyz")
	var r health.Report
	if err := json.Unmarshal(body, &r); err != nil {
		e.t.Fatalf("/readyz answered %d with %q: %v", code, body, err)
	}
	return code, r
}

func component(r health.Report, c health.Component) health.Status {
	for _, s := range r.Components {
		if s.Component == c {
			return s
		}
	}
	return health.Status{}
}

// Outage: Konnect refuses the bridge's token. Nothing is delivered or
// dead-lettered, the messages are held, and /readyz says why; once the
// token is accepted again everything is delivered without anyone touching
// the bridge.
func TestWrongTokenHoldsEverythingUntilKonnectAcceptsIt(t *testing.T) {
	t.Parallel()
	e := start(t, nil, sandbox.WithToken("spat_rotated"))
	guide := testkit.Guide()
	for _, r := range guide {
		testkit.Publish(t, e.js, "agent.runs.acme", r.JSON())
	}

	testkit.Eventually(t, wait, func() bool {
		code, r := e.readiness()
		return code == http.StatusServiceUnavailable && !component(r, health.KonnectAuth).Ready
	}, "/readyz does not answer 503 for konnect_auth")
	refused := func() int {
		n := 0
		for _, r := range e.konnect.Requests() {
			if r.Status == http.StatusUnauthorized {
				n++
			}
		}
		return n
	}
	testkit.Eventually(t, wait, func() bool { return refused() >= 3 }, "the bridge did not keep probing Konnect")

	_, report := e.readiness()
	if reason := component(report, health.KonnectAuth).Reason; !strings.Contains(reason, "KONNECT_TOKEN") {
		t.Errorf("konnect_auth reason %q does not say KONNECT_TOKEN is the fix", reason)
	}
	if n := len(e.konnect.Events()); n != 0 {
		t.Errorf("Konnect holds %d events during the outage", n)
	}
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Errorf("%d events dead-lettered during the outage, want none: %q", len(dl), dl[0].Header.Get("Konnect-Bridge-Reason"))
	}
	if info := e.consumer(); info.NumAckPending != len(guide) || info.NumRedelivered != 0 {
		t.Errorf("consumer: %d awaiting ack, %d redelivered; want all %d held by the bridge, none redelivered",
			info.NumAckPending, info.NumRedelivered, len(guide))
	}

	e.konnect.SetToken("spat_test")
	e.waitHeld(len(guide))
	e.waitSettled()
	if got, want := e.konnect.IDs(), keys(guide...); !maps.Equal(got, want) {
		t.Errorf("Konnect holds %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	testkit.Eventually(t, wait, func() bool {
		code, _ := e.readiness()
		return code == http.StatusOK
	}, "/readyz does not answer 200 once Konnect accepts the token")
}

// Transient failures: 503s, a 500, a 429 with Retry-After, a dropped
// connection and an answer slower than KONNECT_TIMEOUT. Every event ends
// in Konnect once, none is dead-lettered, and the bridge waits out the
// Retry-After before its next request.
func TestTransientFailuresAreRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	steps := []sandbox.Fault{
		sandbox.Answer(http.StatusServiceUnavailable, 0),
		sandbox.Answer(http.StatusServiceUnavailable, 0),
		sandbox.Answer(http.StatusServiceUnavailable, 0),
		sandbox.Answer(http.StatusInternalServerError, 0),
		sandbox.Answer(http.StatusTooManyRequests, time.Second),
		sandbox.Drop(),
		// Konnect stores the events after the bridge gave up waiting: the
		// bridge sends them again and Konnect deduplicates.
		sandbox.Delay(timeout + time.Second),
	}
	var n atomic.Int64
	flaky := func(w http.ResponseWriter, r *http.Request) bool {
		if i := n.Add(1) - 1; i < int64(len(steps)) {
			return steps[i](w, r)
		}
		return false
	}
	e := start(t, func(c *config.Config) {
		c.Konnect.Timeout = timeout
		c.Batch.InFlight = 1 // one request at a time: "the next request" is well defined
		c.Retry.Budget = time.Minute
	}, sandbox.WithFault(flaky))
	guide := testkit.Guide()
	for _, r := range guide {
		testkit.Publish(t, e.js, "agent.runs.acme", r.JSON())
	}

	e.waitHeld(len(guide))
	e.waitSettled()
	if got, want := e.konnect.IDs(), keys(guide...); !maps.Equal(got, want) {
		t.Errorf("Konnect holds %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Errorf("%d events dead-lettered, want none: %q", len(dl), dl[0].Header.Get("Konnect-Bridge-Reason"))
	}

	reqs := e.konnect.Requests()
	var faults []int
	for i, r := range reqs {
		if r.Fault {
			faults = append(faults, r.Status)
		}
		if r.Status == http.StatusTooManyRequests && i+1 < len(reqs) {
			if gap := reqs[i+1].At.Sub(r.At); gap < 950*time.Millisecond {
				t.Errorf("the request after a 429 with Retry-After: 1 came %s later, want at least 1s", gap)
			}
		}
	}
	if want := []int{503, 503, 503, 500, 429, 0}; !slices.Equal(faults, want) {
		t.Errorf("faults answered %v, want %v (0: connection dropped)", faults, want)
	}
	if timeouts := e.scrape().value(t, `konnect_bridge_retries_total{cause="timeout"}`); timeouts < 1 {
		t.Errorf("retries after a timeout = %v, want at least 1: Konnect's slow answer was not waited out", timeouts)
	}
}
