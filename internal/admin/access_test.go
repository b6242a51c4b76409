package admin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/admin"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

const (
	adminToken = "admin-token-0123456789"
	ownToken   = "own-token-0123456789ab"
)

// request is one visitor's request: a path, a method, and what it presents.
type request struct {
	method, path string
	bearer       string
	basic        string // the Basic password
}

func (r request) do(t *testing.T, base string) (int, http.Header, string) {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	var body *strings.Reader
	if method == http.MethodPost {
		body = strings.NewReader("[" + string(testkit.Guide()[0].JSON()) + "]")
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.basic != "" {
		req.SetBasicAuth("anyone", r.basic)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// The admin server as it is reached from the network: pages that name
// customers (/, /billing, the sandbox's views) and the sandbox's ingest
// ask for BRIDGE_ADMIN_TOKEN, or are not served at all when the address is
// not loopback and no token is set; the probes and metrics are always
// served; the bridge's own token opens the sandbox's API only.
func TestAdminAccess(t *testing.T) {
	guarded := []request{{path: "/"}, {path: "/billing"}, {path: "/sandbox/events"}, {path: "/sandbox/usage"},
		{method: http.MethodPost, path: "/v3/openmeter/events"}, {path: "/v3/openmeter/meters"}}
	probes := []request{{path: "/healthz"}, {path: "/readyz"}, {path: "/metrics"}}
	cases := map[string]struct {
		access  admin.Access
		visitor func(request) request
		want    int // for the guarded pages; the probes always answer
		says    string
	}{
		"loopback without a token":      {access: admin.Access{Open: true}, visitor: as("", ""), want: 0},
		"non-loopback without a token":  {access: admin.Access{}, visitor: as("", ""), want: http.StatusForbidden, says: "BRIDGE_ADMIN_TOKEN"},
		"non-loopback, someone guesses": {access: admin.Access{}, visitor: as("guess", ""), want: http.StatusForbidden, says: "127.0.0.1"},
		"token set, none presented":     {access: admin.Access{Token: adminToken, Open: true}, visitor: as("", ""), want: http.StatusUnauthorized, says: "BRIDGE_ADMIN_TOKEN"},
		"token set, a wrong one":        {access: admin.Access{Token: adminToken}, visitor: as(adminToken+"x", ""), want: http.StatusUnauthorized},
		"token set, a prefix of it":     {access: admin.Access{Token: adminToken}, visitor: as(adminToken[:10], ""), want: http.StatusUnauthorized},
		"token set, in the query":       {access: admin.Access{Token: adminToken}, visitor: inQuery(adminToken), want: http.StatusUnauthorized},
		"token set, as bearer":          {access: admin.Access{Token: adminToken}, visitor: as(adminToken, ""), want: 0},
		"token set, as Basic password":  {access: admin.Access{Token: adminToken}, visitor: as("", adminToken), want: 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			base := serveWith(t, c.access)
			for _, r := range guarded {
				code, h, body := c.visitor(r).do(t, base)
				if c.want == 0 {
					if code == http.StatusUnauthorized || code == http.StatusForbidden {
						t.Errorf("%s %s answered %d, want it served: %s", r.method, r.path, code, body)
					}
					continue
				}
				if code != c.want || !strings.Contains(body, c.says) {
					t.Errorf("%s %s answered %d %q, want %d saying %q", r.method, r.path, code, body, c.want, c.says)
				}
				if code == http.StatusUnauthorized && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("%s answered 401 without asking a browser for the token (WWW-Authenticate %q)", r.path, h.Get("WWW-Authenticate"))
				}
			}
			for _, r := range probes {
				if code, _, body := as("", "")(r).do(t, base); code == http.StatusUnauthorized || code == http.StatusForbidden {
					t.Errorf("%s answered %d without a token, want it always served: %s", r.path, code, body)
				}
			}
		})
	}
}

// The bridge's own token, which it delivers to its sandbox with, opens the
// sandbox's API and nothing else.
func TestOwnTokenOpensOnlyTheSandboxAPI(t *testing.T) {
	for name, a := range map[string]admin.Access{
		"non-loopback without a token": {Own: ownToken},
		"token set":                    {Token: adminToken, Own: ownToken},
	} {
		t.Run(name, func(t *testing.T) {
			base := serveWith(t, a)
			if code, _, body := (request{method: http.MethodPost, path: "/v3/openmeter/events", bearer: ownToken}).do(t, base); code != http.StatusAccepted {
				t.Errorf("the bridge's own ingest request answered %d, want 202: %s", code, body)
			}
			for _, path := range []string{"/", "/billing", "/sandbox/events"} {
				if code, _, _ := (request{path: path, bearer: ownToken}).do(t, base); code != http.StatusUnauthorized && code != http.StatusForbidden {
					t.Errorf("%s answered %d to the bridge's own token, want it refused", path, code)
				}
			}
		})
	}
}

func as(bearer, basic string) func(request) request {
	return func(r request) request { r.bearer, r.basic = bearer, basic; return r }
}

func inQuery(token string) func(request) request {
	return func(r request) request { r.path += "?token=" + token + "&access_token=" + token; return r }
}

func serveWith(t *testing.T, a admin.Access) string {
	t.Helper()
	i := info
	i.Access = a
	srv := httptest.NewServer(admin.Handler(allReady(), metrics.New(), sandbox.New(), i))
	t.Cleanup(srv.Close)
	return srv.URL
}
