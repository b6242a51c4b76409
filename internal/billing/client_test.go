package billing_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
)

// An answer of the read API that is not a success names what was read,
// Konnect's host, the status, the content type and the problem's title and
// detail, as delivery's reasons do; never the token.
func TestReadErrorsNameTheHostTheStatusAndTheProblem(t *testing.T) {
	for name, tc := range map[string]struct {
		status      int
		ctype, body string
		want        []string
		rights      bool
	}{
		"a problem": {http.StatusForbidden, "application/problem+json", `{"type":"about:blank","title":"Forbidden","status":403,"detail":"the token may not read meters","instance":"kong:trace:1"}`,
			[]string{"cannot check: the token lacks the right to read meters", "403 Forbidden", `Content-Type "application/problem+json"`, `title "Forbidden"`, "the token may not read meters"}, true},
		"a proxy's page": {http.StatusBadGateway, "text/html", "<html>Bad gateway</html>",
			[]string{"reading meters: ", "502 Bad Gateway", `Content-Type "text/html"`}, false},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")
			_, err := billing.NewClient(srv.URL+"/v3/openmeter/events", "spat_secret", 5*time.Second, time.Second).Meters(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range append(tc.want, "Konnect at "+host) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "spat_secret") {
				t.Errorf("%q shows the token", err)
			}
			if errors.Is(err, billing.ErrNoReadRights) != tc.rights {
				t.Errorf("%q: ErrNoReadRights %v, want %v", err, !tc.rights, tc.rights)
			}
		})
	}
}
