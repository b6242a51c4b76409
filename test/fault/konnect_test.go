package fault_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// Konnect fails in every way it can while runs flow (5xx, 429 with
// Retry-After, dropped connections, answers later than KONNECT_TIMEOUT, a
// token it refuses for a while) and recovers after each: every run reaches
// Konnect once and nothing is dead-lettered.
func TestKonnectFaultsWhileRunsFlow(t *testing.T) {
	const timeout = time.Second
	s := newSuite(t, "KONNECT_TIMEOUT="+timeout.String())
	b := s.startBridge("bridge")
	p := s.produce(newProducer(s.js), 2000, 25*time.Millisecond)

	testkit.Eventually(t, 30*time.Second, func() bool { return len(s.konnect.IDs()) >= 20 },
		"no runs reached Konnect before the faults")

	slow := holding(2 * timeout)
	phases := []struct {
		name string
		// start makes Konnect fail; end makes it recover.
		start, end func()
		// met reports that the bridge met the fault, given Konnect's
		// requests since the phase started.
		met func([]sandbox.Request) bool
	}{
		{
			name:  "503 Service Unavailable",
			start: func() { s.konnect.SetFault(sandbox.Answer(http.StatusServiceUnavailable, 0)) },
			end:   func() { s.konnect.SetFault(nil) },
			// Long enough to spend the retry budget: the bridge hands the
			// runs back and JetStream redelivers them.
			met: func(rs []sandbox.Request) bool {
				info, err := s.consumerInfo()
				return answered(http.StatusServiceUnavailable, 3)(rs) && err == nil && info.NumRedelivered > 0
			},
		},
		{
			name:  "500 Internal Server Error",
			start: func() { s.konnect.SetFault(sandbox.Answer(http.StatusInternalServerError, 0)) },
			end:   func() { s.konnect.SetFault(nil) },
			met:   answered(http.StatusInternalServerError, 3),
		},
		{
			name: "429 with Retry-After: 2",
			start: func() {
				s.konnect.SetFault(sandbox.Times(1, sandbox.Answer(http.StatusTooManyRequests, 2*time.Second)))
			},
			end: func() { s.konnect.SetFault(nil) },
			met: answered(http.StatusTooManyRequests, 1),
		},
		{
			name:  "dropped connections",
			start: func() { s.konnect.SetFault(sandbox.Drop()) },
			end:   func() { s.konnect.SetFault(nil) },
			met:   answered(0, 3),
		},
		{
			name:  "answers later than KONNECT_TIMEOUT",
			start: func() { s.konnect.SetFault(slow.fault()) },
			end:   func() { s.konnect.SetFault(nil) },
			met:   func([]sandbox.Request) bool { return slow.gaveUp.Load() >= 3 },
		},
		{
			name:  "401 for a token Konnect no longer takes",
			start: func() { s.konnect.SetToken("spat_rotated") },
			end:   func() { s.konnect.SetToken("spat_test") },
			met: func(rs []sandbox.Request) bool {
				return answered(http.StatusUnauthorized, 1)(rs) && b.notReady(health.KonnectAuth)
			},
		},
	}
	for _, ph := range phases {
		mark := len(s.konnect.Requests())
		ph.start()
		testkit.Eventually(t, 30*time.Second, func() bool { return ph.met(s.konnect.Requests()[mark:]) },
			"%s: the bridge did not meet the fault", ph.name)
		held := len(s.konnect.IDs())
		ph.end()
		testkit.Eventually(t, 30*time.Second, func() bool { return len(s.konnect.IDs()) > held },
			"%s: delivery did not resume after Konnect recovered", ph.name)
		t.Logf("%s: met and recovered from; Konnect holds %d runs", ph.name, len(s.konnect.IDs()))
	}
	testkit.Eventually(t, 30*time.Second, b.ready, "after Konnect recovered, /readyz does not answer 200: %s",
		lazy(func() string { _, body := b.get("/readyz"); return string(body) }))
	p.finish(t)
	s.assertDelivered(p)
	assertRetryAfterHonoured(t, s.konnect.Requests())
}

// answered is met once Konnect answered n requests with status (0: it
// dropped the connection).
func answered(status, n int) func([]sandbox.Request) bool {
	return func(rs []sandbox.Request) bool {
		seen := 0
		for _, r := range rs {
			if r.Status == status {
				seen++
			}
		}
		return seen >= n
	}
}

// assertRetryAfterHonoured checks that after a 429 with Retry-After: 2 no
// request came within 2s, but for requests already on their way when the
// bridge got the answer.
func assertRetryAfterHonoured(t *testing.T, rs []sandbox.Request) {
	t.Helper()
	const (
		retryAfter = 2 * time.Second
		onTheirWay = 500 * time.Millisecond // requests sent before the 429 arrived
		slack      = 100 * time.Millisecond
	)
	limited := 0
	for _, r := range rs {
		if r.Status != http.StatusTooManyRequests {
			continue
		}
		limited++
		next := time.Duration(-1)
		for _, q := range rs {
			gap := q.At.Sub(r.At)
			if gap > onTheirWay && (next < 0 || gap < next) {
				next = gap
			}
		}
		switch {
		case next < 0:
			t.Errorf("no request came after the 429 at %s", r.At.Format(time.StampMilli))
		case next < retryAfter-slack:
			t.Errorf("a request came %s after a 429 with Retry-After: 2, want at least %s", next, retryAfter)
		default:
			t.Logf("the next request came %s after the 429 with Retry-After: 2", next)
		}
	}
	if limited == 0 {
		t.Error("Konnect answered no 429")
	}
}
