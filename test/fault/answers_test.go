package fault_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// inTheWay is a server in front of Konnect (a misrouted proxy, a WAF, a
// captive portal): it passes requests through to Konnect, or answers every
// POST itself with an HTML page and a status of its own.
type inTheWay struct {
	*httptest.Server
	status atomic.Int32 // 0: pass through
	posts  atomic.Int32 // POSTs it answered itself
	tokens atomic.Int32 // of those, the ones that carried an Authorization header
}

func newInTheWay(t *testing.T, konnect string) *inTheWay {
	t.Helper()
	target, err := url.Parse(konnect)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	pass := httputil.NewSingleHostReverseProxy(target)
	w := &inTheWay{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		status := int(w.status.Load())
		if status == 0 || r.Method != http.MethodPost {
			pass.ServeHTTP(rw, r)
			return
		}
		w.posts.Add(1)
		if r.Header.Get("Authorization") != "" {
			w.tokens.Add(1)
		}
		rw.Header().Set("Content-Type", "text/html")
		rw.WriteHeader(status)
		_, _ = rw.Write([]byte("<html><body><h1>Welcome to nginx!</h1></body></html>"))
	}))
	t.Cleanup(w.Close)
	return w
}

// A server that is not Konnect answers every POST with an HTML page, 200 or
// 400: nothing is delivered or dead-lettered on its word, /readyz names its
// host, status and content type, a metric counts its answers, and once it
// passes requests through to Konnect again every run arrives once.
func TestAnswersNotFromKonnectHoldDelivery(t *testing.T) {
	for name, status := range map[string]int{"200 text/html (nginx)": http.StatusOK, "400 text/html (a WAF)": http.StatusBadRequest} {
		t.Run(name, func(t *testing.T) {
			s := newSuite(t)
			way := newInTheWay(t, s.konnect.URL)
			u, _ := url.Parse(s.konnect.URL)
			b := s.startBridge("bridge", "KONNECT_URL="+way.URL+u.Path)

			way.status.Store(int32(status))
			p := s.produce(newProducer(s.js), 200, 5*time.Millisecond)
			p.wait(t)
			host := strings.TrimPrefix(way.URL, "http://")
			testkit.Eventually(t, 30*time.Second, func() bool {
				code, r := b.readiness()
				if code != http.StatusServiceUnavailable {
					return false
				}
				for _, c := range r.Components {
					if c.Component == health.KonnectAuth && !c.Ready && strings.Contains(c.Reason, host) &&
						strings.Contains(c.Reason, http.StatusText(status)) && strings.Contains(c.Reason, "text/html") {
						return true
					}
				}
				return false
			}, "/readyz does not name %s, %d and text/html as the reason delivery holds: %s", host, status, lazy(func() string {
				_, body := b.get("/readyz")
				return string(body) + " posts " + strconv.Itoa(int(way.posts.Load())) + " konnect " + strconv.Itoa(len(s.konnect.IDs())) + " produced " + strconv.Itoa(p.count()) + fmt.Sprint(" batches ", b.metric("konnect_bridge_batches_sent_total"), " received ", b.metric("konnect_bridge_events_received_total"))
			}))
			testkit.Eventually(t, 10*time.Second, func() bool { return way.posts.Load() >= 3 }, "the bridge did not keep asking")
			if got := b.metric("konnect_bridge_konnect_unexpected_answers_total"); got < 1 {
				t.Errorf("konnect_bridge_konnect_unexpected_answers_total = %v, want the answers counted", got)
			}
			if got := b.metric("konnect_bridge_events_delivered_total"); got != 0 {
				t.Errorf("events_delivered_total = %v while no answer came from Konnect", got)
			}
			if got := len(s.konnect.IDs()); got != 0 {
				t.Errorf("Konnect holds %d runs; the server in the way took them all", got)
			}
			s.assertNoDeadLetters()

			way.status.Store(0)
			s.assertDelivered(p)
			testkit.Eventually(t, 30*time.Second, b.ready, "the bridge did not become ready once Konnect answered")
		})
	}
}

// A proxy answers one event with an HTML 413: too large for the proxy, not
// refused by Konnect. The event is held, in progress: not dead-lettered,
// not acked, /readyz not ready naming the proxy's host, the status and the
// content type; once the proxy passes it through, Konnect has it once.
func TestProxysHTML413ToOneEventHoldsIt(t *testing.T) {
	s := newSuite(t)
	way := newInTheWay(t, s.konnect.URL)
	u, _ := url.Parse(s.konnect.URL)
	b := s.startBridge("bridge", "KONNECT_URL="+way.URL+u.Path)

	way.status.Store(http.StatusRequestEntityTooLarge)
	p := s.produce(newProducer(s.js), 1, time.Millisecond)
	p.wait(t)
	host := strings.TrimPrefix(way.URL, "http://")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, r := b.readiness()
		for _, c := range r.Components {
			if !c.Ready && strings.Contains(c.Reason, host) && strings.Contains(c.Reason, "413") && strings.Contains(c.Reason, "text/html") {
				return true
			}
		}
		return false
	}, "/readyz does not name %s, 413 and text/html: %s", host, lazy(func() string {
		_, body := b.get("/readyz")
		return fmt.Sprint(string(body), " posts ", way.posts.Load(), " batches ", b.metric("konnect_bridge_batches_sent_total"), " delivered ", b.metric("konnect_bridge_events_delivered_total"), " received ", b.metric("konnect_bridge_events_received_total"))
	}))
	testkit.Eventually(t, 10*time.Second, func() bool { return way.posts.Load() >= 3 }, "the bridge did not keep asking")
	if code, _ := b.readiness(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d while the event is held, want 503", code)
	}
	info, err := s.consumerInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 0 || info.NumAckPending != 1 {
		t.Errorf("the consumer's ack floor is %d with %d awaiting an ack, want the one event held unacked", info.AckFloor.Stream, info.NumAckPending)
	}
	if got := b.metric("konnect_bridge_events_delivered_total"); got != 0 {
		t.Errorf("events_delivered_total = %v while only the proxy answered", got)
	}
	if got := b.metric(`konnect_bridge_events_dead_lettered_total{reason="too_large"}`); got != 0 {
		t.Errorf("events_dead_lettered_total{too_large} = %v on a proxy's word", got)
	}
	s.assertNoDeadLetters()

	way.status.Store(0)
	s.assertDelivered(p)
	if got := b.metric("konnect_bridge_events_delivered_total"); got != 1 {
		t.Errorf("events_delivered_total = %v once the proxy let it through, want 1", got)
	}
	testkit.Eventually(t, 30*time.Second, b.ready, "the bridge did not become ready once Konnect answered")
}

// The bridge starts with KONNECT_URL at a server that is not Konnect (a
// wrong URL, nginx's welcome page): its start-up probe asks without the
// token first, takes the HTML answer as no Konnect's, holds delivery and
// says which host answered what. Neither its probes nor the runs waiting
// ever carry KONNECT_TOKEN there. Once the server passes requests through
// to Konnect, every run arrives once.
func TestTheTokenNeverGoesToAServerThatIsNotKonnect(t *testing.T) {
	s := newSuite(t)
	way := newInTheWay(t, s.konnect.URL)
	way.status.Store(http.StatusOK)
	u, _ := url.Parse(s.konnect.URL)
	b := s.spawnBridge("bridge", "127.0.0.1", "KONNECT_URL="+way.URL+u.Path)
	p := s.produce(newProducer(s.js), 20, 5*time.Millisecond)
	p.wait(t)

	host := strings.TrimPrefix(way.URL, "http://")
	testkit.Eventually(t, 30*time.Second, func() bool {
		_, r := b.readiness()
		for _, c := range r.Components {
			if c.Component == health.KonnectAuth && !c.Ready && strings.Contains(c.Reason, host) &&
				strings.Contains(c.Reason, "200 OK") && strings.Contains(c.Reason, "text/html") {
				return true
			}
		}
		return false
	}, "/readyz does not name %s, 200 and text/html: %s", host, lazy(func() string { _, body := b.get("/readyz"); return string(body) }))
	testkit.Eventually(t, 10*time.Second, func() bool { return way.posts.Load() >= 4 }, "the bridge did not keep asking")
	if n := way.tokens.Load(); n != 0 {
		t.Errorf("%d of %d requests to the server that is not Konnect carried the token", n, way.posts.Load())
	}
	if got := b.metric("konnect_bridge_events_delivered_total"); got != 0 {
		t.Errorf("events_delivered_total = %v while no answer came from Konnect", got)
	}
	log := b.logText()
	if !strings.Contains(log, host) || !strings.Contains(log, "text/html") {
		t.Error("the log does not name the host that answered and its content type")
	}
	if strings.Contains(log, "spat_test") {
		t.Error("the log shows KONNECT_TOKEN")
	}
	if _, page := b.get("/"); !regexp.MustCompile(`id="last-unexpected">[^<]*` + regexp.QuoteMeta(host) + ` answered 200 OK \(Content-Type &#34;text/html&#34;\)`).Match(page) {
		t.Errorf("the status page does not name the last answer not from Konnect:\n%s", page)
	}

	way.status.Store(0)
	s.assertDelivered(p)
	testkit.Eventually(t, 30*time.Second, b.ready, "the bridge did not become ready once Konnect answered")
	if n := way.tokens.Load(); n != 0 {
		t.Errorf("%d requests the server that is not Konnect answered carried the token", n)
	}
}
