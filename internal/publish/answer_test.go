package publish_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// timeoutError is a network error that says it timed out, as a dial or a
// read past its deadline does.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	retryAfter := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	const detail = "invalid events, none stored: [3].subject must not be empty"
	tests := map[string]struct {
		status int
		header http.Header
		detail string
		err    error
		// ctype is the answer's Content-Type: Konnect's problem+json when
		// empty, none when "-"; success is the path's, 202 when 0.
		ctype   string
		body    string
		success int

		verdict publish.Verdict
		cause   string
		delay   time.Duration
		pause   bool
		says    []string
	}{
		"202 delivered (Konnect)":      {status: 202, verdict: publish.Delivered},
		"204 delivered (OpenMeter v1)": {status: 204, success: 204, verdict: publish.Delivered},
		"200 is no Konnect answer": {status: 200, ctype: "text/html", body: "<html>Welcome to nginx</html>", verdict: publish.Outage, cause: "unexpected",
			says: []string{"konnect.example:8443", "200", `"text/html"`, "not an answer of the Konnect ingest API", "KONNECT_URL"}},
		"200 without a body is no Konnect answer":    {status: 200, ctype: "-", verdict: publish.Outage, cause: "unexpected", says: []string{"200"}},
		"204 on Konnect's path is no answer":         {status: 204, ctype: "-", verdict: publish.Outage, cause: "unexpected", says: []string{"204", "it answers 202"}},
		"202 on OpenMeter's v1 path is no answer":    {status: 202, ctype: "-", success: 204, verdict: publish.Outage, cause: "unexpected", says: []string{"202", "it answers 204"}},
		"202 with an HTML page":                      {status: 202, ctype: "text/html; charset=utf-8", body: "<p>ok</p>", verdict: publish.Outage, cause: "unexpected"},
		"202 whose body starts like HTML":            {status: 202, ctype: "application/json", body: "\n <!DOCTYPE html><html>portal</html>", verdict: publish.Outage, cause: "unexpected"},
		"400 from a proxy (HTML) holds":              {status: 400, ctype: "text/html", body: "<html>400 Bad Request</html>", verdict: publish.Outage, cause: "unexpected", says: []string{"400", "text/html"}},
		"400 without a content type holds":           {status: 400, ctype: "-", verdict: publish.Outage, cause: "unexpected", says: []string{"400"}},
		"400 in plain JSON holds":                    {status: 400, ctype: "application/json", body: `{"message":"bad"}`, verdict: publish.Outage, cause: "unexpected"},
		"413 from a proxy (HTML) is still too large": {status: 413, ctype: "text/html", body: "<html>413 Request Entity Too Large</html>", verdict: publish.Rejected, cause: "too_large", says: []string{"413", "proxy"}},
		"404 HTML page holds":                        {status: 404, ctype: "text/html", body: "<html>Not Found</html>", verdict: publish.Outage, cause: "unexpected", says: []string{"404"}},
		"502 HTML page of a gateway is retried":      {status: 502, ctype: "text/html", body: "<html>Bad Gateway</html>", verdict: publish.RetryLater, cause: "server_error"},
		"429 HTML page with Retry-After is retried":  {status: 429, ctype: "text/html", body: "<html>slow down</html>", header: retryAfter("3"), verdict: publish.RetryLater, cause: "rate_limited", delay: 3 * time.Second, pause: true},
		"400 rejected with the detail":               {status: 400, detail: detail, verdict: publish.Rejected, cause: "rejected", says: []string{"400", detail}},
		"400 rejected without a detail":              {status: 400, verdict: publish.Rejected, cause: "rejected", says: []string{"400 Bad Request"}},
		"413 too large":                              {status: 413, detail: "the body is larger than 1048576 bytes", verdict: publish.Rejected, cause: "too_large", says: []string{"413", "larger than"}},
		"401 outage: fix the token":                  {status: 401, detail: "invalid credentials", verdict: publish.Outage, cause: "outage", says: []string{"401", "invalid credentials", "KONNECT_TOKEN", "new system-account token"}},
		"403 outage: grant the role":                 {status: 403, verdict: publish.Outage, cause: "outage", says: []string{"403", "KONNECT_TOKEN", "Ingest role"}},
		"403 names the problem's title": {status: 403, body: `{"status":403,"title":"Insufficient role","detail":"the system account may not ingest"}`, verdict: publish.Outage, cause: "outage",
			says: []string{"Konnect at konnect.example:8443 answered 403 Forbidden", `(Content-Type "application/problem+json", title "Insufficient role"): the system account may not ingest`, "KONNECT_TOKEN"}},
		"a problem without a detail says its title once": {status: 500, body: `{"status":500,"title":"Ingest is down"}`, verdict: publish.RetryLater, cause: "server_error",
			says: []string{`answered 500 Internal Server Error (Content-Type "application/problem+json", title "Ingest is down")`}},
		"404 outage: fix the URL":          {status: 404, verdict: publish.Outage, cause: "outage", says: []string{"404", "KONNECT_URL", "KONNECT_REGION"}},
		"408 retried":                      {status: 408, verdict: publish.RetryLater, cause: "server_error", says: []string{"408"}},
		"500 retried":                      {status: 500, detail: "internal error", verdict: publish.RetryLater, cause: "server_error", says: []string{"500", "internal error"}},
		"502 retried":                      {status: 502, verdict: publish.RetryLater, cause: "server_error", says: []string{"502 Bad Gateway"}},
		"503 retried":                      {status: 503, verdict: publish.RetryLater, cause: "server_error", says: []string{"503"}},
		"504 retried":                      {status: 504, verdict: publish.RetryLater, cause: "server_error", says: []string{"504"}},
		"429 rate limited":                 {status: 429, verdict: publish.RetryLater, cause: "rate_limited", says: []string{"429"}},
		"429 with Retry-After seconds":     {status: 429, header: retryAfter("7"), verdict: publish.RetryLater, cause: "rate_limited", delay: 7 * time.Second, pause: true},
		"503 with Retry-After seconds":     {status: 503, header: retryAfter("1"), verdict: publish.RetryLater, cause: "server_error", delay: time.Second, pause: true},
		"503 with Retry-After zero":        {status: 503, header: retryAfter("0"), verdict: publish.RetryLater, cause: "server_error", delay: 0, pause: true},
		"429 with Retry-After as a date":   {status: 429, header: retryAfter(now.Add(90 * time.Second).Format(http.TimeFormat)), verdict: publish.RetryLater, cause: "rate_limited", delay: 90 * time.Second, pause: true},
		"503 with Retry-After as a date":   {status: 503, header: retryAfter(now.Add(2 * time.Minute).Format(http.TimeFormat)), verdict: publish.RetryLater, cause: "server_error", delay: 2 * time.Minute, pause: true},
		"503 with Retry-After in the past": {status: 503, header: retryAfter(now.Add(-time.Hour).Format(http.TimeFormat)), verdict: publish.RetryLater, cause: "server_error", delay: 0, pause: true},
		"503 with Retry-After unreadable":  {status: 503, header: retryAfter("soon"), verdict: publish.RetryLater, cause: "server_error"},
		"503 with Retry-After negative":    {status: 503, header: retryAfter("-5"), verdict: publish.RetryLater, cause: "server_error"},
		"429 with retry-after-ms":          {status: 429, header: http.Header{"Retry-After-Ms": {"250"}}, verdict: publish.RetryLater, cause: "rate_limited", delay: 250 * time.Millisecond, pause: true},
		"503 with retry-after-ms":          {status: 503, header: http.Header{"Retry-After-Ms": {"1500"}}, verdict: publish.RetryLater, cause: "server_error", delay: 1500 * time.Millisecond, pause: true},
		"retry-after-ms wins over seconds": {status: 503, header: http.Header{"Retry-After-Ms": {"40"}, "Retry-After": {"1"}}, verdict: publish.RetryLater, cause: "server_error", delay: 40 * time.Millisecond, pause: true},
		"retry-after-ms unreadable":        {status: 429, header: http.Header{"Retry-After-Ms": {"soon"}, "Retry-After": {"2"}}, verdict: publish.RetryLater, cause: "rate_limited", delay: 2 * time.Second, pause: true},
		"retry-after-ms of a day":          {status: 429, header: http.Header{"Retry-After-Ms": {"86400000"}}, verdict: publish.RetryLater, cause: "rate_limited", delay: 10 * time.Minute, pause: true},
		"500 ignores retry-after-ms":       {status: 500, header: http.Header{"Retry-After-Ms": {"300"}}, verdict: publish.RetryLater, cause: "server_error"},
		"500 ignores Retry-After":          {status: 500, header: retryAfter("30"), verdict: publish.RetryLater, cause: "server_error"},
		"502 ignores Retry-After":          {status: 502, header: retryAfter("30"), verdict: publish.RetryLater, cause: "server_error"},
		"503 with Retry-After of a day":    {status: 503, header: retryAfter("86400"), verdict: publish.RetryLater, cause: "server_error", delay: 10 * time.Minute, pause: true},
		"429 with Retry-After a day ahead": {status: 429, header: retryAfter(now.Add(24 * time.Hour).Format(http.TimeFormat)), verdict: publish.RetryLater, cause: "rate_limited", delay: 10 * time.Minute, pause: true},
		"429 with Retry-After of 10m":      {status: 429, header: retryAfter("600"), verdict: publish.RetryLater, cause: "rate_limited", delay: 10 * time.Minute, pause: true},
		"301 outage: the URL moved": {status: 301, header: http.Header{"Location": {"https://eu.api.konghq.com/v3/openmeter/events"}}, verdict: publish.Outage, cause: "outage",
			says: []string{"301", "KONNECT_URL redirects to https://eu.api.konghq.com/v3/openmeter/events", "set KONNECT_URL to the final ingest URL"}},
		"302 outage: a login page": {status: 302, header: http.Header{"Location": {"https://login.example.com/sso?session=s3cret"}}, verdict: publish.Outage, cause: "outage",
			says: []string{"302", "KONNECT_URL redirects to https://login.example.com/sso:"}},
		"308 outage without a Location":   {status: 308, verdict: publish.Outage, cause: "outage", says: []string{"308", "KONNECT_URL redirects", "final ingest URL"}},
		"405 outage: wrong URL or method": {status: 405, verdict: publish.Outage, cause: "outage", says: []string{"405 Method Not Allowed", "refuses the request as sent", "KONNECT_URL"}},
		"409 outage":                      {status: 409, detail: "conflict", verdict: publish.Outage, cause: "outage", says: []string{"409", "conflict", "KONNECT_URL"}},
		"415 outage":                      {status: 415, verdict: publish.Outage, cause: "outage", says: []string{"415", "refuses the request as sent", "KONNECT_URL"}},
		"422 outage":                      {status: 422, verdict: publish.Outage, cause: "outage", says: []string{"422", "KONNECT_URL"}},
		"network error":                   {err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, verdict: publish.RetryLater, cause: "connection", says: []string{"Konnect at konnect.example:8443 did not answer", "connection refused"}},
		"connection reset":                {err: fmt.Errorf("post: %w", errors.New("read: connection reset by peer")), verdict: publish.RetryLater, cause: "connection", says: []string{"connection reset"}},
		"context deadline":                {err: fmt.Errorf("post batch: %w", context.DeadlineExceeded), verdict: publish.RetryLater, cause: "timeout", says: []string{"Konnect at konnect.example:8443 did not answer", "KONNECT_TIMEOUT"}},
		"network timeout":                 {err: &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}, verdict: publish.RetryLater, cause: "timeout", says: []string{"i/o timeout"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := publish.Classify(reply(tc.status, tc.header, tc.ctype, tc.detail, tc.body, tc.success), tc.err, now)
			if o.Verdict != tc.verdict || o.Cause != tc.cause || o.Delay != tc.delay || o.Pause != tc.pause || o.Status != tc.status {
				t.Errorf("Classify = {%v status %d cause %q delay %s pause %v}, want {%v status %d cause %q delay %s pause %v}",
					o.Verdict, o.Status, o.Cause, o.Delay, o.Pause, tc.verdict, tc.status, tc.cause, tc.delay, tc.pause)
			}
			for _, s := range tc.says {
				if !strings.Contains(o.Reason, s) {
					t.Errorf("Reason %q does not say %q", o.Reason, s)
				}
			}
			if want := map[string]delivery.Kind{"rejected": delivery.KindRejected, "too_large": delivery.KindTooLarge}[tc.cause]; o.Kind != want {
				t.Errorf("Kind = %q, want %q", o.Kind, want)
			}
			if o.Unexpected != (tc.ctype != "" && tc.cause == "unexpected" || strings.Contains(name, "proxy (HTML)")) {
				t.Errorf("Unexpected = %v (class %q)", o.Unexpected, o.Class)
			}
			if want := (tc.verdict == publish.Delivered || tc.verdict == publish.Rejected) && !o.Unexpected; o.TakesAuth() != want {
				t.Errorf("TakesAuth() = %v, want %v: only an answer about the events shows the token is taken", o.TakesAuth(), want)
			}
			if strings.Contains(o.Reason, "s3cret") {
				t.Errorf("Reason %q shows a redirect's query", o.Reason)
			}
			if tc.verdict != publish.Delivered && o.Reason == "" {
				t.Error("no Reason: an operator would not know what happened")
			}
			// Every reason names what answered, how, and in what shape.
			if tc.verdict != publish.Delivered && !strings.Contains(o.Reason, "konnect.example:8443") {
				t.Errorf("Reason %q does not name the host", o.Reason)
			}
			if tc.err == nil && tc.verdict != publish.Delivered && (!strings.Contains(o.Reason, fmt.Sprint(tc.status)) || !strings.Contains(o.Reason, "Content-Type")) {
				t.Errorf("Reason %q does not name the status and the content type", o.Reason)
			}
			if tc.ctype == "" && tc.body == "" && tc.status >= 300 && !strings.Contains(o.Reason, fmt.Sprintf("title %q", http.StatusText(tc.status))) {
				t.Errorf("Reason %q does not name the problem's title", o.Reason)
			}
		})
	}
}

// reply is an answer as the table tells it: Konnect's problem+json unless
// ctype says otherwise ("-": no Content-Type), with the status's text as
// its title and the detail, unless body is given.
func reply(status int, h http.Header, ctype, detail, body string, success int) publish.Reply {
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	if ctype == "" && status >= 300 {
		ctype = "application/problem+json"
		if body == "" && detail != "" {
			body = fmt.Sprintf(`{"status":%d,"title":%q,"detail":%q}`, status, http.StatusText(status), detail)
		} else if body == "" {
			body = fmt.Sprintf(`{"status":%d,"title":%q}`, status, http.StatusText(status))
		}
	}
	if ctype != "" && ctype != "-" {
		h.Set("Content-Type", ctype)
	}
	if success == 0 {
		success = http.StatusAccepted
	}
	return publish.Reply{Status: status, Header: h, Body: []byte(body), Success: success, Host: "konnect.example:8443"}
}

// TestClientClassifiesKonnectsAnswers sends real requests through the
// Client: what Konnect (the stand-in) answers, and what fails on the way,
// becomes the Answer an operator reads, and no token ever shows in it.
func TestClientClassifiesKonnectsAnswers(t *testing.T) {
	const rightToken, wrongToken = "spat_right_0123456789", "spat_wrong_9876543210"
	batch := []byte(`[` + string(testkit.Guide()[0].JSON()) + `]`)
	// An address where nothing listens any more.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/v3/openmeter/events"
	l.Close()
	tests := map[string]struct {
		konnect func(t *testing.T) string
		token   string
		timeout time.Duration

		verdict publish.Verdict
		status  int
		cause   string
		says    string
	}{
		"accepted": {
			konnect: func(t *testing.T) string { return testkit.NewKonnect(t, sandbox.WithToken(rightToken)).URL },
			token:   rightToken, verdict: publish.Delivered, status: 202,
		},
		"wrong token": {
			konnect: func(t *testing.T) string { return testkit.NewKonnect(t, sandbox.WithToken(rightToken)).URL },
			token:   wrongToken, verdict: publish.Outage, status: 401, cause: "outage", says: "KONNECT_TOKEN",
		},
		"no token": {
			konnect: func(t *testing.T) string { return testkit.NewKonnect(t, sandbox.WithToken(rightToken)).URL },
			verdict: publish.Outage, status: 401, cause: "outage", says: "missing Authorization",
		},
		"wrong path": {
			konnect: func(t *testing.T) string {
				return strings.TrimSuffix(testkit.NewKonnect(t).URL, "/v3/openmeter/events") + "/v2/events?token=" + wrongToken
			},
			token: wrongToken, verdict: publish.Outage, status: 404, cause: "outage", says: "KONNECT_URL",
		},
		"refused with a problem": {
			konnect: func(t *testing.T) string {
				return testkit.NewKonnect(t, sandbox.WithReject(func(sandbox.Event) string { return "customer acme-inc is unknown" })).URL
			},
			token: wrongToken, verdict: publish.Rejected, status: 400, cause: "rejected", says: "customer acme-inc is unknown",
		},
		"rate limited": {
			konnect: func(t *testing.T) string {
				return testkit.NewKonnect(t, sandbox.WithFault(sandbox.Answer(429, 2*time.Second))).URL
			},
			token: wrongToken, verdict: publish.RetryLater, status: 429, cause: "rate_limited", says: "answering 429",
		},
		"connection dropped": {
			konnect: func(t *testing.T) string { return testkit.NewKonnect(t, sandbox.WithFault(sandbox.Drop())).URL },
			token:   wrongToken, verdict: publish.RetryLater, cause: "connection",
		},
		"nobody listening": {
			konnect: func(t *testing.T) string { return closed + "?token=" + wrongToken },
			token:   wrongToken, verdict: publish.RetryLater, cause: "connection", says: "Konnect",
		},
		"too slow": {
			konnect: func(t *testing.T) string {
				return testkit.NewKonnect(t, sandbox.WithFault(sandbox.Delay(10*time.Second))).URL
			},
			token: wrongToken, timeout: 100 * time.Millisecond, verdict: publish.RetryLater, cause: "timeout",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			target := tc.konnect(t)
			c := publish.NewClient(target, tc.token, timeout, time.Second, 1)
			o := c.Send(context.Background(), batch)
			if o.Verdict != tc.verdict || o.Status != tc.status || o.Cause != tc.cause {
				t.Errorf("Send = {%v status %d cause %q} (%s), want {%v status %d cause %q}", o.Verdict, o.Status, o.Cause, o.Reason, tc.verdict, tc.status, tc.cause)
			}
			if !strings.Contains(o.Reason, tc.says) {
				t.Errorf("Reason %q does not say %q", o.Reason, tc.says)
			}
			if u, _ := url.Parse(target); tc.verdict != publish.Delivered && !strings.Contains(o.Reason, "Konnect at "+u.Host) {
				t.Errorf("Reason %q does not name Konnect's host %s", o.Reason, u.Host)
			}
			for _, secret := range []string{rightToken, wrongToken} {
				if strings.Contains(o.Reason, secret) {
					t.Errorf("Reason %q shows %q", o.Reason, secret)
				}
			}
		})
	}
}

// TestClientNeverFollowsARedirect: KONNECT_URL points at an address that
// redirects (an old hostname, a proxy, http to https). The bridge does not
// follow: a 301 or 302 would turn the POST into a GET, and the token would go
// wherever the redirect says. It holds delivery and names the URL to set.
func TestClientNeverFollowsARedirect(t *testing.T) {
	const secret = "spat_never_sent_twice"
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			k := testkit.NewKonnect(t, sandbox.WithToken(secret))
			moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, k.URL, status)
			}))
			t.Cleanup(moved.Close)
			c := publish.NewClient(moved.URL+"/v3/openmeter/events", secret, 5*time.Second, time.Second, 1)
			o := c.Send(context.Background(), []byte(`[`+string(testkit.Guide()[0].JSON())+`]`))
			if o.Verdict != publish.Outage || o.Status != status || o.Cause != "outage" {
				t.Errorf("Send = {%v status %d cause %q} (%s), want an outage with status %d", o.Verdict, o.Status, o.Cause, o.Reason, status)
			}
			if want := "KONNECT_URL redirects to " + k.URL; !strings.Contains(o.Reason, want) {
				t.Errorf("Reason %q does not say %q", o.Reason, want)
			}
			if n := len(k.Requests()); n != 0 {
				t.Errorf("the redirect was followed: Konnect got %d request(s)", n)
			}
		})
	}
}
