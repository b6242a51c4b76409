package admin

import (
	"html/template"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// Info is what the status page says about the running bridge. NATS (one
// URL or a comma-separated list) and Target are shown through
// config.RedactURL.
type Info struct {
	Version  string
	NATS     string
	Stream   string
	Consumer string
	Target   string
	// Reading says, when it is not the billing consumer, which consumer
	// the bridge reads through and why (the sandbox's own).
	Reading string
	// Secrets, when not nil, keeps the configuration's secrets out of
	// /readyz and the status page.
	Secrets *config.Scrubber
	// Billing, when set, is the running bridge's billing check.
	Billing *billing.Watcher
}

type statusView struct {
	Info
	Report       health.Report
	Received     float64
	Delivered    float64
	DeadLettered float64
	Lag          float64
	AckPending   float64
	CoreDropped  float64
	LastDelivery string
	Usage        *sandbox.Usage
	Billing      *billing.Report
	Now          string
}

// statusPage renders the state at a glance: no build step, no external
// assets, refreshed every five seconds.
func statusPage(h *health.Health, m *metrics.Metrics, sb *sandbox.Sandbox, info Info) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		v := statusView{Info: info, Report: h.Report(), Now: time.Now().UTC().Format(time.RFC3339)}
		families, _ := m.Registry.Gather()
		for _, f := range families {
			switch f.GetName() {
			case "konnect_bridge_events_received_total":
				v.Received = sum(f)
			case "konnect_bridge_events_delivered_total":
				v.Delivered = sum(f)
			case "konnect_bridge_events_dead_lettered_total":
				v.DeadLettered = sum(f)
			case "konnect_bridge_consumer_pending_messages":
				v.Lag = sum(f)
			case "konnect_bridge_consumer_ack_pending_messages":
				v.AckPending = sum(f)
			case "konnect_bridge_core_dropped_total":
				v.CoreDropped = sum(f)
			case "konnect_bridge_last_delivery_timestamp_seconds":
				if s := sum(f); s > 0 {
					v.LastDelivery = time.Unix(int64(s), 0).UTC().Format(time.RFC3339)
				}
			}
		}
		if r, ok := info.Billing.Latest(); ok {
			v.Billing = &r
		}
		if sb != nil {
			u := sb.Usage()
			v.Usage = &u
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, v)
	}
}

func sum(f *dto.MetricFamily) float64 {
	var s float64
	for _, m := range f.GetMetric() {
		switch {
		case m.Counter != nil:
			s += m.Counter.GetValue()
		case m.Gauge != nil:
			s += m.Gauge.GetValue()
		}
	}
	return s
}

var page = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>konnect-bridge</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:60em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse;margin:1em 0} td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
.ok{color:#176f2c;font-weight:bold} .bad{color:#b3261e;font-weight:bold} code{background:#f4f4f4;padding:0 .3em}
</style></head><body>
<h1>konnect-bridge {{if .Report.Ready}}<span class="ok">ready</span>{{else}}<span class="bad">not ready</span>{{end}}</h1>
<p>Version <code>{{.Version}}</code> · NATS <code>{{.NATS}}</code> · stream <code>{{.Stream}}</code> · consumer <code>{{.Consumer}}</code> · delivering to <code>{{.Target}}</code> · {{.Now}}</p>
{{with .Reading}}<p id="reading"><strong>{{.}}</strong></p>{{end}}
<table><tr><th>part</th><th>state</th><th>since</th><th>reason</th></tr>
{{range .Report.Components}}<tr><td>{{.Component}}</td><td>{{if .Ready}}<span class="ok">ready</span>{{else}}<span class="bad">not ready</span>{{end}}</td><td>{{.Since.UTC.Format "2006-01-02 15:04:05"}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
<table>
<tr><td>events received</td><td id="received">{{printf "%.0f" .Received}}</td></tr>
<tr><td>events delivered</td><td id="delivered">{{printf "%.0f" .Delivered}}</td></tr>
<tr><td>events dead-lettered</td><td id="dead-lettered">{{printf "%.0f" .DeadLettered}}</td></tr>
<tr><td>consumer lag (pending)</td><td id="lag">{{printf "%.0f" .Lag}}</td></tr>
<tr><td>awaiting ack</td><td>{{printf "%.0f" .AckPending}}</td></tr>
<tr><td>core NATS messages dropped (slow consumer, lost)</td><td id="core-dropped">{{printf "%.0f" .CoreDropped}}</td></tr>
<tr><td>last delivery</td><td>{{if .LastDelivery}}{{.LastDelivery}}{{else}}none yet{{end}}</td></tr>
<tr><td>last error</td><td id="last-error">{{if .Report.LastError}}{{.Report.LastError}}{{else}}none{{end}}</td></tr>
</table>
{{with .Billing}}<h2 id="billing">Billing {{if .OK}}<span class="ok">every event billable</span>{{else}}<span class="bad">usage that will not be invoiced</span>{{end}}</h2>
<p>Checked {{.CheckedAt.Format "2006-01-02 15:04:05"}} UTC: {{.Events}} event(s) read from the stream since the previous check, against Konnect's meters and customers. JSON: <a href="/billing">/billing</a>.</p>
{{range .CannotCheck}}<p class="bad">{{.}}</p>{{end}}
{{if .Findings}}<table><tr><th>finding</th><th>what</th><th>events</th><th>since</th><th>fix</th></tr>
{{range .Findings}}<tr><td>{{.Kind}}</td><td>{{.Type}}{{.Subject}} {{.Meter}} {{.Property}}</td><td>{{.Events}}</td><td>{{if not .Since.IsZero}}{{.Since.UTC.Format "2006-01-02 15:04:05"}}{{end}}</td><td>{{.Fix}}</td></tr>
{{end}}</table>{{end}}{{if .Untracked}}<p>{{.Untracked}} event(s) of subjects past BRIDGE_BILLING_MAX_SUBJECTS were not tracked.</p>{{end}}
{{end}}
{{with .Usage}}<h2>Sandbox usage</h2>
<p>Events the built-in Konnect sandbox accepted (deduplicated by source and id), like the invoice preview. Raw: <a href="/sandbox/events">/sandbox/events</a>, <a href="/sandbox/usage">/sandbox/usage</a>.</p>
<table><tr><th>type</th><th>runs</th></tr>{{range $k, $v := .ByType}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</table>
<table><tr><th>customer (subject)</th><th>runs</th></tr>{{range $k, $v := .BySubject}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</table>
<table><tr><th>agent</th><th>runs</th></tr>{{range $k, $v := .ByAgentName}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</table>
{{end}}
<p><a href="/readyz">/readyz</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></p>
</body></html>
`))
