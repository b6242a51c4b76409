package fault_test

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// The admin server bound beyond loopback, as in every container: without
// BRIDGE_ADMIN_TOKEN the probes and metrics are served and the pages that
// name customers answer 403 with how to enable them, and the start log says
// so; with it, those pages ask for the token (401) and serve whoever sends
// it. The token never reaches the log, nor the public pages.
func TestAdminServerBeyondLoopbackAsksForTheToken(t *testing.T) {
	const adminToken = "admin-token-Zq8v3KxP"
	guarded := []string{"/", "/billing"}
	for name, tc := range map[string]struct {
		env     []string
		without int // what a guarded page answers without the token
	}{
		"no BRIDGE_ADMIN_TOKEN": {nil, http.StatusForbidden},
		"BRIDGE_ADMIN_TOKEN":    {[]string{"BRIDGE_ADMIN_TOKEN=" + adminToken}, http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSuite(t)
			b := s.startBridgeOn("bridge", "0.0.0.0", tc.env...)
			s.produce(newProducer(s.js), 3, time.Millisecond).wait(t)
			for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
				// Readiness may be a moment behind the runs just published
				// (the consumer's lag): the point is that it is served.
				var code int
				var body []byte
				testkit.Eventually(t, 10*time.Second, func() bool {
					code, body = b.request(path, "")
					return code == http.StatusOK
				}, "GET %s = %s, want 200: the probes and metrics are always served", path, lazyInt(&code))
				if strings.Contains(string(body), adminToken) {
					t.Errorf("GET %s shows the admin token", path)
				}
			}
			for _, path := range guarded {
				code, body := b.request(path, "")
				if code != tc.without {
					t.Errorf("GET %s without the token = %d, want %d", path, code, tc.without)
				}
				if want := "BRIDGE_ADMIN_TOKEN"; !strings.Contains(string(body), want) {
					t.Errorf("GET %s without the token says %q, which does not name %s", path, body, want)
				}
				if strings.Contains(string(body), "acme-inc") {
					t.Errorf("GET %s without the token names a customer", path)
				}
				if code, _ := b.request(path, "not-the-token"); code != tc.without {
					t.Errorf("GET %s with a wrong token = %d, want %d", path, code, tc.without)
				}
			}
			if tc.env != nil {
				if code, body := b.request("/", adminToken); code != http.StatusOK || !strings.Contains(string(body), "konnect-bridge") {
					t.Errorf("GET / with the token = %d, want the status page", code)
				}
				// The billing check runs shortly after the start.
				testkit.Eventually(t, 30*time.Second, func() bool { code, _ := b.request("/billing", adminToken); return code == http.StatusOK },
					"GET /billing with the token never answered 200")
			}

			log := b.logText()
			if strings.Contains(log, adminToken) {
				t.Error("the log shows the admin token")
			}
			if warned := strings.Contains(log, "BRIDGE_ADMIN_TOKEN is not set"); warned != (tc.env == nil) {
				t.Errorf("the start log warns of no admin token: %v, want %v", warned, tc.env == nil)
			}
		})
	}
}

// logText is what the bridge wrote to its log so far.
func (b *bridge) logText() string {
	raw, err := os.ReadFile(b.log)
	if err != nil {
		b.t.Fatal(err)
	}
	return string(raw)
}

// lazyInt formats as *p when the message is printed.
func lazyInt(p *int) lazy { return func() string { return strconv.Itoa(*p) } }
