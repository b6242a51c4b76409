package publish

import (
	"context"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// emptyBatch ingests nothing: Konnect answers it by the token and URL alone.
var emptyBatch = []byte("[]")

// Probe asks Konnect, with an empty batch that ingests nothing, whether it
// takes the token and the URL. Once the token is accepted Konnect takes the
// batch (2xx) or finds it invalid (400): either way TakesAuth reports true.
// A bad token, role or URL is an Outage; a 5xx, 429 or a network error is
// RetryLater and says nothing about the token.
func (c *Client) Probe(ctx context.Context) Answer { return c.Send(ctx, emptyBatch) }

// CheckAuth asks Konnect, with an empty batch, whether it accepts the token
// and URL, so that readiness tells a bad token before the first event
// arrives. It reports the answer to health (konnect_auth) and returns
// whether Konnect refused (an outage); then call WatchAuth.
func (p *Publisher) CheckAuth(ctx context.Context) (refused bool) {
	o := p.client.Probe(ctx)
	if o.Verdict == Outage {
		p.health.Set(health.KonnectAuth, false, o.Reason)
		p.log.Error().Int("status", o.Status).Str("fix", o.Reason).Msg("Konnect refuses the bridge's requests")
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
			p.log.Info().Msg("Konnect accepts the bridge's requests")
			return
		}
	}
}
