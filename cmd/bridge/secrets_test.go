package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// secretURLs are the forms a KONNECT_URL with credentials takes, each
// pointing at a port nobody listens on, so that net/http fails and repeats
// the URL in its error (masking the password, lower-casing the scheme).
var secretURLs = map[string]string{
	"upper-case scheme, user and password, query": "HTTP://admin:S3cretPW@127.0.0.1:1/v3/openmeter/events?apikey=S3cretKey",
	"user and password with a query":              "http://admin:S3cretPW@127.0.0.1:1/v3/openmeter/events?apikey=S3cretKey&region=eu",
	"escaped password and query":                  "http://admin:S3cret%21PW@127.0.0.1:1/v3/openmeter/events?apikey=S3cret%2BKey",
	"mixed-case https, query and fragment":        "Https://127.0.0.1:1/v3/openmeter/events?token=S3cretKey#S3cretFragment",
	"token as user information":                   "http://S3cretUserToken@localhost:1/v3/openmeter/events",
}

// noSecret fails the test when text shows any part of a secret.
func noSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range []string{"S3cret", "spat_"} {
		if strings.Contains(text, s) {
			t.Errorf("%s shows %q:\n%s", where, s, text)
		}
	}
}

// TestSecretsNeverInText feeds every form of a secret-bearing URL, and the
// tokens, through every place that prints errors: the log of a running
// bridge that cannot reach Konnect, /readyz, the status page, and `bridge
// check`.
func TestSecretsNeverInText(t *testing.T) {
	defer func(d time.Duration) { natsWait = d }(natsWait)
	natsWait = 300 * time.Millisecond
	ns := testkit.NATS(t)
	natsURL := strings.Replace(ns.ClientURL(), "nats://", "NATS://natsuser:S3cretNATS@", 1)
	for name, konnectURL := range secretURLs {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"NATS_URL": natsURL, "KONNECT_URL": konnectURL, "KONNECT_TOKEN": "spat_S3cretToken"}
			code, out := bridgeCmd(t, env, "check")
			if code != 1 || !strings.Contains(out, "FAIL  Konnect at") {
				t.Errorf("bridge check: exit %d, want 1 with Konnect failing:\n%s", code, out)
			}
			noSecret(t, "bridge check", out)

			cfg := testkit.Config(natsURL, konnectURL)
			cfg.Konnect.Token = "spat_S3cretToken"
			var logged lockedBuffer
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			up := make(chan bridge.Started, 1)
			go func() {
				done <- bridge.Run(ctx, cfg, newLogger(cfg, &logged), func(s bridge.Started) { up <- s })
			}()
			defer func() { stop(); <-done }()
			var st bridge.Started
			select {
			case st = <-up:
			case err := <-done:
				t.Fatalf("bridge stopped: %v", err)
			case <-time.After(20 * time.Second):
				t.Fatal("bridge did not start")
			}
			testkit.Eventually(t, 10*time.Second, func() bool {
				return strings.Contains(get(t, st.AdminAddr, "/readyz"), "Konnect")
			}, "/readyz never gave Konnect's failure as the reason")
			noSecret(t, "/readyz", get(t, st.AdminAddr, "/readyz"))
			noSecret(t, "the status page", get(t, st.AdminAddr, "/"))
			noSecret(t, "the log", logged.String())
		})
	}
}

func TestScrubberRemovesEveryForm(t *testing.T) {
	cfg := config.Defaults()
	cfg.NATS.URL = "nats://u:S3cret+PW@nats-1:4222,tls://nats-2:4222?auth=S3cretQ"
	cfg.Konnect.URL = "HTTPS://konnect.invalid/x?k=S3cret%20Key&v=1"
	cfg.Konnect.Token = "spat_S3cret\"tok"
	s := cfg.Scrubber()
	for _, text := range []string{
		`post "https://u:***@konnect.invalid/x?k=S3cret%20Key": refused`,
		`token "spat_S3cret\"tok" and spat_S3cret&#34;tok and spat_S3cret%22tok`,
		"password S3cret+PW, S3cret%2BPW, S3cret PW",
		"query auth=S3cretQ and S3cret Key",
	} {
		noSecret(t, "scrubbed text", s.String(text))
	}
	if got := s.String("delivered 1 event to v=1"); got != "delivered 1 event to v=1" {
		t.Errorf("a short, common value was scrubbed: %q", got)
	}
}

func get(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
