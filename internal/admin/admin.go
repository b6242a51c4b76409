// Package admin owns the bridge's admin HTTP server: liveness, readiness
// with the reason, Prometheus metrics, a status page, and in sandbox mode
// a Konnect stand-in (the Sandbox interface; the built-in sandbox in
// practice, which it never imports). It reads state; it never changes it.
package admin

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// Sandbox is a Konnect stand-in served beside the admin endpoints (the
// built-in sandbox of internal/sandbox): its ingest and read API under
// /v3/openmeter/ and its views under /sandbox/, and what the status page
// shows of it.
type Sandbox interface {
	http.Handler
	// Counts is the events it accepted by type, by subject and by agent
	// name.
	Counts() (byType, bySubject, byAgentName map[string]int)
}

// Handler serves /healthz, /readyz, /metrics and the status page at /.
// With a sandbox (nil: none) it also serves the sandbox's ingest and
// /sandbox/ views.
// The page shows info's URLs without their credentials. Every page but
// /healthz, /readyz and /metrics is guarded by info.Access.
func Handler(h *health.Health, m *metrics.Metrics, sb Sandbox, info Info) http.Handler {
	info.NATS, info.Target = config.RedactURL(info.NATS), config.RedactURL(info.Target)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	mux.Handle("GET /readyz", scrubbed(info.Secrets, func(w http.ResponseWriter, _ *http.Request) {
		r := readiness{Report: h.Report(), Target: info.Target, Consumer: info.Consumer, Reading: info.Reading}
		code := http.StatusOK
		if !r.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, r)
	}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.Handle("GET /{$}", scrubbed(info.Secrets, statusPage(h, m, sb, info)))
	mux.Handle("GET /billing", scrubbed(info.Secrets, func(w http.ResponseWriter, _ *http.Request) {
		r, ok := info.Billing.Latest()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"status": "no billing check yet (BRIDGE_BILLING_CHECK=0 turns it off)"})
			return
		}
		writeJSON(w, http.StatusOK, r)
	}))
	if sb != nil {
		mux.Handle("/sandbox/", sb)
		mux.Handle("/v3/openmeter/", sb) // ingest and the read API
	}
	return guard(info.Access, mux)
}

// readiness is /readyz's answer: the components, and where events go
// through which consumer, so that a sandbox is never taken for billing.
type readiness struct {
	health.Report
	Target   string `json:"target"`
	Consumer string `json:"consumer"`
	Reading  string `json:"reading,omitempty"`
}

// scrubbed serves next without the configuration's secrets in its body.
func scrubbed(s *config.Scrubber, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next(scrubWriter{ResponseWriter: w, w: s.Writer(w)}, r)
	})
}

type scrubWriter struct {
	http.ResponseWriter
	w io.Writer
}

func (s scrubWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
