package admin

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
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
	// Access guards every page but the probes and metrics.
	Access Access
}

type statusView struct {
	Info
	Report health.Report
	// Parts is Report's components as the page shows them.
	Parts        []part
	Received     float64
	Delivered    float64
	DeadLettered float64
	// DeadKinds is the dead letters stored since start by kind (those of
	// any), Newest the newest few with their reasons.
	DeadKinds   []deadKind
	Newest      []health.DeadLetter
	Lag         float64
	AckPending  float64
	CoreDropped float64
	// AheadOfTime and BeforePeriod count events timed out of bounds.
	AheadOfTime  float64
	BeforePeriod float64
	LastDelivery string
	// PausedUntil is when Konnect's Retry-After pause ends, while one holds.
	PausedUntil string
	Usage       *usage
	Billing     *billing.Report
	Now         string
}

// usage is what the status page shows of the sandbox's events.
type usage struct{ ByType, BySubject, ByAgentName map[string]int }

// part is a component's row: ready, not ready, or, for dead letters
// waiting to be looked at, "attention" (readiness itself is not changed
// by them: a dead letter holds no delivery).
type part struct {
	health.Status
	State, Class string
}

// deadKind is how many dead letters of a kind the bridge stored.
type deadKind struct {
	Kind  string
	Count float64
}

// parts words the components, the dead-letter one by what is waiting.
func parts(r health.Report, deadLettered float64) []part {
	out := make([]part, 0, len(r.Components))
	for _, s := range r.Components {
		p := part{Status: s, State: "ready", Class: "ok"}
		switch {
		case !s.Ready:
			p.State, p.Class = "not ready", "bad"
		case s.Component == health.DeadLetters && deadLettered > 0:
			p.State, p.Class = "attention", "warn"
			p.Reason = fmt.Sprintf("%.0f dead letter(s) stored since start: see Dead letters below", deadLettered)
		}
		out = append(out, p)
	}
	return out
}

// statusPage renders the state at a glance: no build step, no external
// assets, refreshed every five seconds.
func statusPage(h *health.Health, m *metrics.Metrics, sb Sandbox, info Info) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now()
		v := statusView{Info: info, Report: h.Report(), Now: now.UTC().Format(time.RFC3339)}
		families, _ := m.Registry.Gather()
		for _, f := range families {
			switch f.GetName() {
			case "konnect_bridge_events_received_total":
				v.Received = sum(f)
			case "konnect_bridge_events_delivered_total":
				v.Delivered = sum(f)
			case "konnect_bridge_events_dead_lettered_total":
				v.DeadLettered = sum(f)
				for _, m := range f.GetMetric() {
					if l := m.GetLabel(); len(l) == 1 && m.GetCounter().GetValue() > 0 {
						v.DeadKinds = append(v.DeadKinds, deadKind{Kind: l[0].GetValue(), Count: m.GetCounter().GetValue()})
					}
				}
			case "konnect_bridge_consumer_pending_messages":
				v.Lag = sum(f)
			case "konnect_bridge_consumer_ack_pending_messages":
				v.AckPending = sum(f)
			case "konnect_bridge_core_dropped_total":
				v.CoreDropped = sum(f)
			case "konnect_bridge_events_time_out_of_bounds_total":
				v.AheadOfTime, v.BeforePeriod = byLabel(f, "future"), byLabel(f, "past")
			case "konnect_bridge_last_delivery_timestamp_seconds":
				if s := sum(f); s > 0 {
					v.LastDelivery = time.Unix(int64(s), 0).UTC().Format(time.RFC3339)
				}
			case "konnect_bridge_konnect_paused_until_seconds":
				if t := time.Unix(int64(sum(f)), 0); t.After(now) {
					v.PausedUntil = t.UTC().Format(time.RFC3339)
				}
			}
		}
		v.Parts, v.Newest = parts(v.Report, v.DeadLettered), h.NewestDeadLetters()
		if r, ok := info.Billing.Latest(); ok {
			v.Billing = &r
		}
		if sb != nil {
			u := usage{}
			u.ByType, u.BySubject, u.ByAgentName = sb.Counts()
			v.Usage = &u
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, v)
	}
}

// byLabel is the counter of f whose one label has value.
func byLabel(f *dto.MetricFamily, value string) float64 {
	for _, m := range f.GetMetric() {
		if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == value {
			return m.GetCounter().GetValue()
		}
	}
	return 0
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
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<noscript><meta http-equiv="refresh" content="5"></noscript>
<title>konnect-bridge</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;padding:0 2em;max-width:60em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse;margin:1em 0} td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td,code{overflow-wrap:anywhere} .ok{color:#176f2c;font-weight:bold} .bad{color:#b3261e;font-weight:bold} .warn{color:#8a4b00;font-weight:bold} code{background:#f4f4f4;padding:0 .3em}
#refresh{background:#fdecea;padding:.5em .8em}
@media (max-width:40em){
 body{margin:1em auto;padding:0 1em}
 table{width:100%;table-layout:fixed}
 #parts thead{display:none}
 #parts tr{display:grid;grid-template-columns:1fr auto;border-bottom:1px solid #ddd;padding:.2em 0}
 #parts td{border:0;padding:.1em .3em}
 #parts td.since,#parts td.reason{grid-column:1/-1;color:#555}
 #parts td.since::before{content:"since "}
 #parts td:empty{display:none}
}
</style>
<script>
// Refresh in place every 5 s: no reload flicker, and a bridge that restarts
// is picked up again where a meta refresh would stop on an error page.
(function () {
  var every = 5000, failingSince = null;
  function tick() {
    fetch(location.href, {cache: "no-store"}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      document.body.replaceWith(document.adoptNode(fresh.body));
      failingSince = null;
    }).catch(function (err) {
      failingSince = failingSince || new Date();
      var note = document.getElementById("refresh");
      if (note) {
        note.textContent = "The bridge has not answered since " + failingSince.toLocaleTimeString() +
          " (" + err.message + "); this page shows the state before and retries every 5 s.";
        note.hidden = false;
      }
    }).finally(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
</script></head><body>
<p id="refresh" hidden></p>
<h1>konnect-bridge {{if .Report.Ready}}<span id="state" class="ok">ready</span>{{else}}<span id="state" class="bad">not ready</span>{{end}}</h1>
<p>Version <code>{{.Version}}</code> · NATS <code>{{.NATS}}</code> · stream <code>{{.Stream}}</code> · consumer <code>{{.Consumer}}</code> · delivering to <code>{{.Target}}</code> · {{.Now}}</p>
{{with .Reading}}<p id="reading"><strong>{{.}}</strong></p>{{end}}
{{with .PausedUntil}}<p id="paused" class="bad">paused by Konnect until {{.}} (Retry-After)</p>{{end}}
<table id="parts"><thead><tr><th>part</th><th>state</th><th>since</th><th>reason</th></tr></thead>
{{range .Parts}}<tr id="part-{{.Component}}"><td>{{.Component}}</td><td><span class="state {{.Class}}">{{.State}}</span></td><td class="since">{{.Since.UTC.Format "2006-01-02 15:04:05"}}</td><td class="reason">{{.Reason}}</td></tr>
{{end}}</table>
<table>
<tr><td>events received since start</td><td id="received">{{printf "%.0f" .Received}}</td></tr>
<tr><td>events delivered since start</td><td id="delivered">{{printf "%.0f" .Delivered}}</td></tr>
<tr><td>dead letters stored since start</td><td id="dead-lettered">{{printf "%.0f" .DeadLettered}}</td></tr>
<tr><td>consumer lag (pending)</td><td id="lag">{{printf "%.0f" .Lag}}</td></tr>
<tr><td>awaiting ack</td><td id="ack-pending">{{printf "%.0f" .AckPending}}</td></tr>
<tr><td>events timed ahead of the bridge's clock by more than BRIDGE_MAX_FUTURE</td><td id="time-future">{{printf "%.0f" .AheadOfTime}}</td></tr>
<tr><td>events timed before their customer's current billing period</td><td id="time-past">{{printf "%.0f" .BeforePeriod}}</td></tr>
<tr><td>core NATS messages dropped (slow consumer, lost)</td><td id="core-dropped">{{printf "%.0f" .CoreDropped}}</td></tr>
<tr><td>last delivery</td><td>{{if .LastDelivery}}{{.LastDelivery}}{{else}}none yet{{end}}</td></tr>
{{with .Report}}{{if not .LastError}}<tr><td>last error</td><td id="last-error">none</td></tr>
{{else if .LastErrorCleared.IsZero}}<tr><td>last error</td><td id="last-error" class="bad">{{.LastErrorAt.UTC.Format "15:04:05"}}: {{.LastError}}</td></tr>
{{else}}<tr><td>error cleared</td><td id="last-error"><span class="ok">cleared {{.LastErrorCleared.UTC.Format "15:04:05"}}</span> (since {{.LastErrorAt.UTC.Format "15:04:05"}}): {{.LastError}}</td></tr>
{{end}}{{end}}
{{if .Report.LastUnexpected}}<tr><td>last answer not from Konnect</td><td id="last-unexpected">{{.Report.LastUnexpectedAt.UTC.Format "2006-01-02 15:04:05"}}: {{.Report.LastUnexpected}}</td></tr>{{end}}
{{with .Report.Standby}}<tr><td>replica</td><td id="standby"><span class="state">standby</span>: {{.}}</td></tr>{{end}}
{{with .Report.Durability}}<tr><td>stream durability</td><td id="durability"><span class="{{if .OK}}ok{{else}}bad{{end}}">{{.Replicas}} replica(s), {{.Storage}} storage</span>: {{.Says}}</td></tr>{{end}}
</table>
{{if .DeadKinds}}<h2 id="dead-letters">Dead letters <span class="warn">{{printf "%.0f" .DeadLettered}} stored since start</span></h2>
<p>Events that will never be delivered as they are, kept in the dead-letter stream with their reasons. List them, fix the producer or the configuration, then replay them (<code>bridge dlq replay --kind …</code>).</p>
<table id="dead-letter-kinds"><tr><th>kind</th><th>since start</th><th>to see them, run</th></tr>
{{range .DeadKinds}}<tr id="dead-kind-{{.Kind}}"><td>{{.Kind}}</td><td>{{printf "%.0f" .Count}}</td><td><code>bridge dlq list --kind {{.Kind}}</code></td></tr>
{{end}}</table>
{{if .Newest}}<table id="dead-letter-newest"><tr><th>stored</th><th>kind</th><th>reason (newest first)</th></tr>
{{range .Newest}}<tr><td>{{.At.UTC.Format "15:04:05"}}</td><td>{{.Kind}}</td><td class="reason">{{.Reason}}</td></tr>
{{end}}</table>{{end}}
{{end}}
{{with .Billing}}<h2 id="billing">Billing {{if .OK}}<span class="ok">every event billable</span>{{else}}<span class="bad">usage that will not be invoiced</span>{{end}}</h2>
<p>Checked {{.CheckedAt.Format "2006-01-02 15:04:05"}} UTC against Konnect's meters and customers. Billing check: events read in the last check window (the stream since the previous check) <span id="billing-events">{{.Events}}</span>. JSON: <a href="/billing">/billing</a>.</p>
{{range .CannotCheck}}<p class="bad">{{.}}</p>{{end}}
{{if .Findings}}<table><tr><th>finding</th><th>what</th><th>events</th><th>since</th><th>fix</th></tr>
{{range .Findings}}<tr><td>{{.Kind}}</td><td>{{.Type}}{{.Subject}} {{.Meter}} {{.Property}}{{if not .Subject}}{{.Customer}}{{end}}</td><td>{{.Events}}</td><td>{{if not .Since.IsZero}}{{.Since.UTC.Format "2006-01-02 15:04:05"}}{{end}}</td><td>{{.Fix}}</td></tr>
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
