package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
)

// billingClient reads Konnect's API next to KONNECT_URL with the token, or
// in dev mode the sandbox of the bridge running at BRIDGE_HTTP_ADDR.
func billingClient(cfg config.Config) *billing.Client {
	url, token := cfg.Konnect.URL, cfg.Konnect.Token.Reveal()
	if cfg.Target() == config.TargetSandbox {
		url, token = "http://"+cfg.Bridge.HTTPAddr+"/v3/openmeter/events", cfg.Bridge.AdminToken.Reveal()
	}
	return billing.NewClient(url, token, cfg.Konnect.Timeout, cfg.Konnect.ConnectTimeout)
}

// parseWhen reads a point in time: a duration before now ("1h", "30m"), an
// RFC 3339 time, or a date (midnight UTC).
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: use a duration before now (1h, 30m), an RFC 3339 time or a date such as 2026-11-01", flag, s)
}

// plural is "n thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, thing)
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(thing, "s"))
}
