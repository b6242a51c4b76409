package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
)

// Verdict is what Konnect's answer to one request means for the request.
type Verdict int

const (
	// Delivered: Konnect accepted the event. Ack its message.
	Delivered Verdict = iota
	// RetryLater: a transient failure; send again after Delay.
	RetryLater
	// Rejected: Konnect refuses the events for good (one of them, when the
	// request held several). Never retried as is.
	Rejected
	// Outage: Konnect refuses every request (token, role or URL is wrong).
	// Nothing is acked or dead-lettered; delivery holds until it recovers.
	Outage
)

func (v Verdict) String() string {
	switch v {
	case Delivered:
		return "delivered"
	case RetryLater:
		return "retry"
	case Rejected:
		return "rejected"
	case Outage:
		return "outage"
	}
	return "unknown"
}

// Answer is the classified result of one request. What it means for each
// event of the request is a delivery.Settlement, which the sender decides.
type Answer struct {
	Verdict Verdict
	// Status is Konnect's HTTP status, 0 when no answer came.
	Status int
	// Delay is how long to wait before sending again (RetryLater). With
	// Pause set it comes from retry-after-ms or Retry-After (at most
	// maxRetryAfter) and holds every request.
	Delay time.Duration
	Pause bool
	// Cause names the kind of failure for metrics: rate_limited,
	// server_error, timeout, connection, outage, invalid, rejected, too_large.
	Cause string
	// Kind is the dead-letter kind of a Rejected answer.
	Kind delivery.Kind
	// Reason is the text a person reads: Konnect's problem detail, the
	// validation error, the network error.
	Reason string
	// Unexpected: the answer is not shaped like Konnect's (Outage); Class
	// then names its content type for metrics: html, json, problem, text,
	// none or other.
	Unexpected bool
	Class      string
	// ContentType is the answer's Content-Type, for the log line.
	ContentType string
}

// TakesAuth reports whether the answer shows that Konnect takes the token
// and the URL: only Konnect's own answer about the events does (delivered
// or rejected), never a proxy's.
func (a Answer) TakesAuth() bool {
	return !a.Unexpected && (a.Verdict == Delivered || a.Verdict == Rejected)
}

// Reply is what Classify reads of one HTTP answer.
type Reply struct {
	// Status is the HTTP status, 0 when no answer came.
	Status int
	Header http.Header
	// Body is the first bytes of the answer's body (at most 64 KiB).
	Body []byte
	// Success is the status the ingest path documents for accepted events:
	// 202 for Konnect's /v3/openmeter/events, 204 for OpenMeter's
	// /api/v1/events (SuccessStatus).
	Success int
	// Host is KONNECT_URL's host, which every reason names (also when
	// no answer came).
	Host string
}

// SuccessStatus is the status the ingest API at url answers when it takes
// the events: 204 for self-hosted OpenMeter's /api/v1/events, 202 for
// Konnect's /v3/openmeter/events and /api/v3/openmeter/events (and any other
// path: Konnect's answer is the one documented).
func SuccessStatus(url string) int {
	if strings.HasSuffix(strings.TrimRight(url, "/"), "/api/v1/events") {
		return http.StatusNoContent
	}
	return http.StatusAccepted
}

// Classify maps an HTTP answer (or the error that stood in its place) to an
// Answer. It is the one place that knows what Konnect's answers mean.
//
// Delivered means the ingest API said so: only its documented success status
// (r.Success) with a body that is not HTML. Any other 2xx, any 3xx and any
// HTML page is not Konnect speaking (a wrong URL, a captive portal, a
// misrouted proxy): an outage, which holds delivery until Konnect answers.
// A 400 rejects events only in Konnect's shape, application/problem+json; a
// proxy's 400 is an outage and never dead-letters. A 413 splits the batch
// whoever sends it (the body was too large for that hop, and halves are
// smaller), but a proxy's HTML 413 to a single event is an outage: one
// event too large for a proxy is the proxy's limit to raise, not the event's
// fault, and is held rather than dead-lettered on a proxy's word.
func Classify(r Reply, err error, now time.Time) Answer {
	if err != nil {
		o := Answer{Verdict: RetryLater, Cause: "connection", Reason: konnectAt(r.Host) + " did not answer: " + err.Error()}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			o.Cause = "timeout"
			o.Reason += "; no answer within KONNECT_TIMEOUT (or KONNECT_CONNECT_TIMEOUT to connect): check the network path to it"
		}
		return o
	}
	status, header := r.Status, r.Header
	detail := ""
	if status >= 300 {
		detail = ProblemDetail(bytes.NewReader(r.Body))
	}
	if a, ok := unexpected(r, detail); ok {
		return a
	}
	switch {
	case status == r.Success:
		return Answer{Verdict: Delivered, Status: status}
	case status == http.StatusBadRequest:
		return Answer{Verdict: Rejected, Status: status, Cause: "rejected", Kind: delivery.KindRejected, Reason: Said(r, detail)}
	case status == http.StatusRequestEntityTooLarge:
		return Answer{Verdict: Rejected, Status: status, Cause: "too_large", Kind: delivery.KindTooLarge, Reason: Said(r, detail)}
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		return Answer{Verdict: Outage, Status: status, Cause: "outage", Reason: outageReason(r, detail)}
	case status >= 300 && status < 400:
		// The client never follows a redirect: it would turn the POST into
		// a GET, or send the token to another host.
		return Answer{Verdict: Outage, Status: status, Cause: "outage", Reason: redirectReason(r, detail, header.Get("Location"))}
	case status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests:
		// 405, 409, 415, 422, ...: Konnect does not take the request as the
		// bridge sends it, whatever the events. Retrying would never end and
		// dead-lettering would drop good events: hold until it is fixed.
		return Answer{Verdict: Outage, Status: status, Cause: "outage", Reason: Said(r, detail) +
			"; Konnect refuses the request as sent: check KONNECT_URL, which must be the ingest URL, such as " + ingestExample}
	}
	o := Answer{Verdict: RetryLater, Status: status, Cause: "server_error", Reason: Said(r, detail)}
	if status == http.StatusTooManyRequests {
		o.Cause = "rate_limited"
	}
	if d, ok := retryAfter(header, now); ok && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		o.Delay, o.Pause = min(d, maxRetryAfter), true
	}
	return o
}

// maxRetryAfter caps a Retry-After pause, here and only here. A proxy in
// front of Konnect answering Retry-After: 86400 must not stop billing for a
// day: after maxRetryAfter the bridge asks again, and a Konnect that still
// wants a pause says so again.
const maxRetryAfter = 10 * time.Minute

const ingestExample = "https://us.api.konghq.com/v3/openmeter/events"

// Said is what Konnect answered, named as a reader checks it: the host
// (never KONNECT_URL's credentials), the status, the content type and, for
// a problem, its title; then the problem's detail or the body's first line.
func Said(r Reply, detail string) string {
	ct := r.Header.Get("Content-Type")
	s := fmt.Sprintf("%s answered %d %s (Content-Type %q", konnectAt(r.Host), r.Status, http.StatusText(r.Status), ct)
	t := problemTitle(ct, r.Body)
	if t != "" {
		s += fmt.Sprintf(", title %q", t)
	}
	if s += ")"; detail != "" && detail != t { // a problem without a detail: ProblemDetail gives its title
		s += ": " + detail
	}
	return s
}

// konnectAt names Konnect by KONNECT_URL's host, as Reply.Host has it.
func konnectAt(host string) string {
	if host == "" {
		return "Konnect"
	}
	return "Konnect at " + host
}

func outageReason(r Reply, detail string) string {
	fix := map[int]string{
		http.StatusUnauthorized: "KONNECT_TOKEN is missing, wrong or expired: issue a new system-account token with the Ingest role",
		http.StatusForbidden:    "KONNECT_TOKEN lacks the Ingest role for Metering & Billing: grant it to the system account",
		http.StatusNotFound:     "KONNECT_URL does not serve the ingest API: check KONNECT_URL or KONNECT_REGION",
	}[r.Status]
	return Said(r, detail) + "; " + fix
}

func redirectReason(r Reply, detail, location string) string {
	if location == "" {
		return Said(r, detail) + "; KONNECT_URL redirects elsewhere: set KONNECT_URL to the final ingest URL, such as " + ingestExample
	}
	return Said(r, detail) + "; KONNECT_URL redirects to " + config.RedactURL(location) + ": set KONNECT_URL to the final ingest URL"
}

// retryAfter reads how long Konnect asks to wait: retry-after-ms (whole
// milliseconds, as some gateways send it) when present and readable, else
// Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if ms, err := strconv.Atoi(h.Get("Retry-After-Ms")); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond, true
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
