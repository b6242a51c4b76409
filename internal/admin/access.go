package admin

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Access says who may see the admin server's pages and APIs beyond the
// probes and metrics (/healthz, /readyz, /metrics), which are always
// served and never name a customer.
type Access struct {
	// Token is BRIDGE_ADMIN_TOKEN: every guarded request presents it as
	// "Authorization: Bearer TOKEN" or as the password of HTTP Basic (the
	// user name is ignored), which a browser asks for and then sends with
	// every request of the status page, its refreshes included. Never in
	// the URL: a query string lands in proxies' and browsers' logs.
	Token string
	// Own is the bridge's own token for the sandbox's API (/v3/openmeter/),
	// which in sandbox mode it delivers to and reads billing from through
	// this server. It is made at start and never leaves the process.
	Own string
	// Open: the address is loopback, so without Token everything is
	// served, as to anyone on this machine.
	Open bool
}

// Refused is the line a guarded page answers with when no token is set
// and the admin server listens beyond loopback.
const Refused = "this page names customers and is not served on a non-loopback BRIDGE_HTTP_ADDR without a token: set BRIDGE_ADMIN_TOKEN (then send Authorization: Bearer TOKEN), or bind BRIDGE_HTTP_ADDR to 127.0.0.1\n"

// public are the paths served to anyone: probes and metrics.
var public = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// guard serves next to whoever a may see it: 401 (asking for the token)
// without the right token, 403 when there is no token to ask for.
func guard(a Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case public[r.URL.Path]:
		case a.Own != "" && strings.HasPrefix(r.URL.Path, "/v3/openmeter/") && presents(r, a.Own):
		case a.Token != "":
			if !presents(r, a.Token) {
				w.Header().Set("WWW-Authenticate", `Basic realm="konnect-bridge admin", charset="UTF-8"`)
				http.Error(w, "this page asks for BRIDGE_ADMIN_TOKEN: send Authorization: Bearer TOKEN, or give it as the password when the browser asks", http.StatusUnauthorized)
				return
			}
		case !a.Open:
			http.Error(w, strings.TrimSuffix(Refused, "\n"), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// presents reports whether r carries token, as a bearer token or as the
// password of HTTP Basic, compared in constant time.
func presents(r *http.Request, token string) bool {
	got := ""
	if _, pw, ok := r.BasicAuth(); ok {
		got = pw
	} else if h := r.Header.Get("Authorization"); len(h) > len("Bearer ") && strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
		got = h[len("Bearer "):]
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
