package publish_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// recorder serves next and keeps the Authorization header of every request
// ("" when none was sent).
type recorder struct {
	mu   sync.Mutex
	auth []string
	next http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.auth)
}

// answering is a server that answers every request with status, content
// type and body, whatever it carries.
func answering(status int, ctype, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

// The start-up probe never hands KONNECT_TOKEN to a server that is not
// Konnect. It asks first without the token; a server that answers that
// like nginx (or a proxy's login page, or a JSON 401 not in Konnect's
// problem shape) gets an outage verdict naming its host, status and
// content type, and delivery holds: neither the probes that follow nor the
// events waiting ever carry the token to it.
func TestProbeNeverHandsTheTokenToAStranger(t *testing.T) {
	const nginx = "<html><body><h1>Welcome to nginx!</h1></body></html>"
	for name, tc := range map[string]struct {
		status int
		ctype  string
		body   string
		class  string // the content_type label of the metric
	}{
		"nginx 200 text/html":          {http.StatusOK, "text/html", nginx, "html"},
		"nginx 404 text/html":          {http.StatusNotFound, "text/html", "<html><center>404 Not Found</center></html>", "html"},
		"a login page 401 text/html":   {http.StatusUnauthorized, "text/html; charset=utf-8", "<html>Please log in</html>", "html"},
		"a JSON 401 not Konnect's":     {http.StatusUnauthorized, "application/json", `{"message":"Unauthorized"}`, "json"},
		"a problem 401 without detail": {http.StatusUnauthorized, "application/problem+json", `{"status":401,"title":"Unauthorized"}`, "problem"},
		"a 204 to the v3 path":         {http.StatusNoContent, "", "", "none"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{next: answering(tc.status, tc.ctype, tc.body)}
			srv := httptest.NewServer(rec)
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")
			h, m := health.New(nil), metrics.New()
			p := publish.New(publish.NewClient(srv.URL+"/v3/openmeter/events", token, 5*time.Second, time.Second, 2), limits(), zerolog.Nop(), m, h)
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)

			if !p.CheckAuth(ctx) {
				t.Fatal("the probe took the server's answer as Konnect's")
			}
			reason := component(h, health.KonnectAuth).Reason
			for _, want := range []string{host, http.StatusText(tc.status), tc.ctype, "KONNECT_URL"} {
				if !strings.Contains(reason, want) {
					t.Errorf("konnect_auth says %q, which does not name %q", reason, want)
				}
			}
			if got := counterValue(m.UnexpectedAnswers.WithLabelValues(strconv.Itoa(tc.status), tc.class)); got != 1 {
				t.Errorf("konnect_unexpected_answers_total{status=%d} = %v, want 1", tc.status, got)
			}

			// Events arrive while the probe watches the server.
			l := newLedger(t)
			in := make(chan delivery.Item, 3)
			for _, it := range items(l, runIDs(3)) {
				in <- it
			}
			done := make(chan struct{})
			go func() { defer close(done); p.Run(ctx, in) }()
			go p.WatchAuth(ctx)
			testkit.Eventually(t, 10*time.Second, func() bool { return len(rec.seen()) >= 4 },
				"the probe did not keep asking the server (%d requests)", len(rec.seen()))
			for i, auth := range rec.seen() {
				if auth != "" {
					t.Errorf("request %d to the server carried Authorization %q", i, auth)
				}
			}
			if n := l.outcomes.Load(); n != 0 {
				t.Errorf("%s while the server is not Konnect, want nothing settled", l.counts())
			}
			cancel()
			close(in)
			<-done
		})
	}
}

// Konnect answers the request without the token 401 in its problem shape:
// only then does the probe ask again, with the token. So do the stand-ins
// the tests run, the sandbox with a token.
func TestProbeSendsTheTokenOnceKonnectAnswered(t *testing.T) {
	k := testkit.NewKonnect(t, sandbox.WithToken(token))
	rec := &recorder{next: k.Sandbox}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	h := health.New(nil)
	p := publish.New(publish.NewClient(srv.URL+"/v3/openmeter/events", token, 5*time.Second, time.Second, 2), limits(), zerolog.Nop(), metrics.New(), h)
	if p.CheckAuth(context.Background()) {
		t.Fatalf("Konnect's probe was refused: %s", component(h, health.KonnectAuth).Reason)
	}
	if got := rec.seen(); !slices.Equal(got, []string{"", "Bearer " + token}) {
		t.Errorf("the probe sent Authorization %q, want none, then the bearer token", got)
	}
	if s := component(h, health.KonnectAuth); !s.Ready {
		t.Errorf("konnect_auth not ready after Konnect accepted the token: %s", s.Reason)
	}
}
