package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// emptyBatch ingests nothing: Konnect answers it by the token and URL alone.
var emptyBatch = []byte("[]")

// Probe asks Konnect, with an empty batch that ingests nothing, whether it
// takes the token and the URL. The token goes only to a server that first
// answered a request without it as Konnect does (401 in its problem shape);
// an ingest API that takes the batch without a token (a self-hosted
// OpenMeter without auth: its documented success, or its problem+json 400)
// needs none. Any other answer to that request is an Outage naming the
// host, the status and the content type, and the token is never sent.
// Once the token is accepted Konnect takes the batch (2xx) or finds it
// invalid (400): either way TakesAuth reports true. A bad token, role or
// URL is an Outage; a 5xx, 429 or a network error is RetryLater and says
// nothing about the token.
func (c *Client) Probe(ctx context.Context) Answer {
	if c.token != "" && !c.own {
		r, err := c.post(ctx, emptyBatch, "")
		if a, konnect := tokenless(r, err, c.now()); !konnect {
			return a
		}
	}
	return c.Send(ctx, emptyBatch)
}

// tokenless classifies the answer to a request sent without the token.
// Konnect answers it 401 application/problem+json with the fields of the
// ingest API's UnauthorizedError (status 401, title, detail, instance):
// then konnect is true and the token may follow. An ingest API that needs
// no token, and a failure on the way, are answered as Classify reads them;
// any other answer is a server that is not Konnect.
func tokenless(r Reply, err error, now time.Time) (a Answer, konnect bool) {
	if err != nil {
		return Classify(r, err, now), false
	}
	if r.Status == http.StatusUnauthorized && unauthorizedProblem(r) {
		return Answer{}, true
	}
	if a := Classify(r, nil, now); a.Verdict == RetryLater || a.TakesAuth() {
		return a, false
	}
	ct := r.Header.Get("Content-Type")
	reason := fmt.Sprintf("%s answered %d %s (Content-Type %q) to a request without the token, which Konnect answers 401 application/problem+json: "+
		"it is not the Konnect ingest API, so KONNECT_TOKEN was not sent to it; check KONNECT_URL, or a proxy or captive portal in the way", r.Host, r.Status, http.StatusText(r.Status), ct)
	return Answer{Verdict: Outage, Status: r.Status, Cause: "unexpected", Reason: reason, Unexpected: true, Class: contentClass(ct, r.Body), ContentType: ct}, false
}

// unauthorizedProblem reports whether r's body is the ingest API's
// UnauthorizedError: problem+json whose required fields are all there.
func unauthorizedProblem(r Reply) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/problem+json" {
		return false
	}
	var p struct {
		Status                  int
		Title, Detail, Instance string
	}
	return json.Unmarshal(r.Body, &p) == nil && p.Status == http.StatusUnauthorized && p.Title != "" && p.Detail != "" && p.Instance != ""
}

// CheckAuth asks Konnect, with an empty batch, whether it accepts the token
// and URL, so that readiness tells a bad token before the first event
// arrives. It reports the answer to health (konnect_auth) and returns
// whether Konnect refused (an outage); then call WatchAuth. An answer that
// is not Konnect's holds delivery too, so that no batch carries the token
// to that server, until WatchAuth finds Konnect.
func (p *Publisher) CheckAuth(ctx context.Context) (refused bool) {
	o := p.client.Probe(ctx)
	if o.Unexpected {
		p.unexpected(o)
		p.gate.SetOutage(true)
	}
	if o.Verdict == Outage || o.Unexpected {
		p.health.Set(health.KonnectAuth, false, o.Reason)
		p.log.Error().Int("status", o.Status).Str("content_type", o.ContentType).Str("fix", o.Reason).Msg("Konnect refuses the bridge's requests")
		return true
	}
	p.health.Set(health.KonnectAuth, true, "")
	return false
}

// WatchAuth probes again every ProbeMax until Konnect accepts the token,
// or ctx ends. Deliveries report their own answers meanwhile.
func (p *Publisher) WatchAuth(ctx context.Context) {
	for wait.Sleep(ctx, p.limits.ProbeMax) {
		if !p.CheckAuth(ctx) {
			p.gate.SetOutage(false)
			p.log.Info().Msg("Konnect accepts the bridge's requests")
			return
		}
	}
}
