package publish

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
)

// unexpected tells an answer that is not the ingest API speaking: an HTML
// page (but a 5xx, 408 or 429, which are retried), a 2xx other than the documented success, a 400
// not in Konnect's problem shape, or a proxy's HTML 413. Each is an outage:
// nothing is acked or dead-lettered on its word.
func unexpected(r Reply, detail string) (Answer, bool) {
	ct := r.Header.Get("Content-Type")
	class := contentClass(ct, r.Body)
	switch {
	case r.Status == http.StatusRequestEntityTooLarge && class != "html":
		return Answer{}, false
	case r.Status == http.StatusRequestEntityTooLarge:
		// An HTML 413 is a proxy's: Rejected splits a batch of several
		// (halves are smaller); the sender holds a single event (decide)
		// as an outage instead of dead-lettering it.
		reason := fmt.Sprintf("%s answered %d %s (Content-Type %q), a proxy in front of Konnect: raise its body limit, or lower BRIDGE_BATCH_BYTES",
			r.Host, r.Status, http.StatusText(r.Status), ct)
		return Answer{Verdict: Rejected, Status: r.Status, Cause: "too_large", Kind: delivery.KindTooLarge,
			Reason: reason, Unexpected: true, Class: class, ContentType: ct}, true
	case class == "html" && !retried(r.Status):
	case r.Status >= 200 && r.Status < 300 && r.Status != r.Success:
	case r.Status == http.StatusBadRequest && class != "problem":
	default:
		return Answer{}, false
	}
	reason := fmt.Sprintf("%s answered %d %s (Content-Type %q), which is not an answer of the Konnect ingest API (it answers %d): "+
		"check KONNECT_URL, or a proxy or captive portal in the way", r.Host, r.Status, http.StatusText(r.Status), ct, r.Success)
	return Answer{Verdict: Outage, Status: r.Status, Cause: "unexpected", Reason: reason, Unexpected: true, Class: class, ContentType: ct}, true
}

// retried tells the statuses retried whoever answers them: a gateway's HTML
// 5xx, 408 or 429 is the usual transient failure in front of Konnect, and
// retrying it (with its Retry-After) never acks or dead-letters anything.
func retried(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

// contentClass names an answer's content type in a few bounded words: html
// (by the header or a body that starts like HTML), problem, json, text,
// none or other.
func contentClass(ct string, body []byte) string {
	mt, _, _ := mime.ParseMediaType(ct)
	head := bytes.ToLower(bytes.TrimSpace(body[:min(len(body), 512)]))
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml" || bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html")):
		return "html"
	case mt == "application/problem+json":
		return "problem"
	case mt == "application/json":
		return "json"
	case mt == "text/plain":
		return "text"
	case ct == "":
		return "none"
	}
	return "other"
}
