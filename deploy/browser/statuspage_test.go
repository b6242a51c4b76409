package browser_test

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// restartableNATS is a NATS server whose JetStream data survives a
// restart on the same port, as a NATS pod that is rescheduled.
type restartableNATS struct {
	t    *testing.T
	opts server.Options
	srv  *server.Server
}

func startRestartableNATS(t *testing.T) *restartableNATS {
	n := &restartableNATS{t: t, opts: server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	}}
	n.start()
	n.opts.Port = n.srv.Addr().(*net.TCPAddr).Port
	return n
}

func (n *restartableNATS) start() {
	n.t.Helper()
	opts := n.opts
	srv, err := natsconn.StartServer(&opts)
	if err != nil {
		n.t.Fatalf("start NATS: %v", err)
	}
	n.t.Cleanup(srv.Shutdown)
	n.srv = srv
}

func (n *restartableNATS) stop() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// The status page in a real browser at a phone's width: it renders, and
// without anyone reloading it shows each change as it happens: events
// delivered, an invalid event dead-lettered, Konnect refusing the token
// (delivery held, lag growing), the token accepted again, NATS going away
// and coming back, and the bridge itself restarting. It fits the phone's
// screen and the console stays free of errors throughout.
func TestStatusPageInABrowser(t *testing.T) {
	t.Parallel()
	browser := chromium(t) // skips before anything starts
	nats := startRestartableNATS(t)
	natsURL := nats.srv.ClientURL()
	k := testkit.NewKonnect(t, sandbox.WithToken("spat_test"))
	cfg := testkit.Config(natsURL, k.URL)
	b := testkit.StartBridge(t, cfg)
	_, js := testkit.Connect(t, natsURL)

	p := openPhone(t, browser, "http://"+b.AdminAddr+"/")
	p.eventually("the bridge ready", state("ready"))
	p.eventually("nothing delivered yet", count("delivered", "=== 0"))
	p.fitsScreen("ready, idle")

	guide := testkit.Guide()
	for _, r := range guide {
		testkit.Publish(t, js, "agent.runs.acme", r.JSON())
	}
	p.eventually("the guide's 3 runs delivered", count("delivered", "=== 3"))

	testkit.Publish(t, js, "agent.runs.acme", testkit.AcmeRun("no-subject").JSONChanged(func(ev map[string]any) { delete(ev, "subject") }))
	p.eventually("one event dead-lettered", count("dead-lettered", "=== 1"))
	// What to do about it: the dead-letter part asks for attention (the
	// bridge stays ready), and the page names the kind, the command that
	// lists it and the reason.
	p.eventually("the dead letter to look at", state("ready")+` && `+part("dead_letters", "attention", "1 dead letter(s)")+` && `+
		text("dead-kind-invalid", "bridge dlq list --kind invalid")+` && `+text("dead-letter-newest", "subject: required"))
	p.fitsScreen("a dead letter")

	// Konnect refuses the token: delivery is held. The bridge keeps what it
	// pulled awaiting an ack and pulls until its own queue is full (MaxAckPending
	// is sized from the batch settings), so the rest waits in the stream as lag.
	k.SetToken("spat_rotated")
	held, waiting := testkit.AcmeRuns("held", 50), testkit.AcmeRuns("waiting", 400)
	testkit.PublishRuns(t, js, "agent.runs.acme", held, wait)
	p.eventually("delivery held", state("not ready")+` && `+part("konnect_auth", "not ready", "KONNECT_TOKEN"))
	p.eventually("the held events awaiting an ack", count("ack-pending", "> 0"))
	testkit.PublishRuns(t, js, "agent.runs.acme", waiting, wait)
	p.eventually("a lag", count("lag", "> 0"))
	p.fitsScreen("delivery held")
	p.screenshot("held")

	// Events held past AckWait were redelivered: Konnect counts each once,
	// the page counts deliveries.
	k.SetToken("spat_test")
	all := len(guide) + len(held) + len(waiting)
	k.WaitHeld(t, all, wait)
	p.eventually("every run delivered once the token is accepted", count("delivered", fmt.Sprintf(">= %d", all)))
	p.eventually("no lag", count("lag", "=== 0"))
	p.eventually("the bridge ready again", state("ready"))
	p.eventually("the token's error shown as cleared", text("last-error", "cleared")+` && `+text("last-error", "konnect_auth"))

	nats.stop()
	p.eventually("NATS disconnected", state("not ready")+` && `+part("nats", "not ready", ""))
	p.fitsScreen("NATS disconnected")
	p.screenshot("nats-down")
	nats.start()
	p.eventually("NATS connected again", state("ready")+` && `+part("nats", "ready", ""))

	if problems := p.problems(); len(problems) > 0 {
		t.Errorf("the browser's console has %d errors:\n%v", len(problems), problems)
	}
	seen := len(p.problems())

	// The bridge restarts: the page says it stopped answering, keeps
	// trying, and shows the new process once it answers on the same address.
	b.Stop(t)
	p.eventually("that the bridge does not answer", `document.getElementById("refresh")?.hidden === false`)
	cfg.Bridge.HTTPAddr = b.AdminAddr
	testkit.StartBridge(t, cfg)
	p.eventually("the restarted bridge", state("ready")+` && document.getElementById("refresh")?.hidden === true`)
	for _, problem := range p.problems()[seen:] {
		if !strings.Contains(problem, "net::ERR_CONNECTION_REFUSED") {
			t.Errorf("the browser's console, around the restart: %s", problem)
		}
	}
}

// state is true when the page's heading gives the bridge's readiness as
// want ("ready" or "not ready").
func state(want string) string {
	return fmt.Sprintf(`(document.getElementById("state")?.textContent ?? "").trim() === %q`, want)
}

// count is true when the number shown in the element id satisfies cmp
// ("=== 3", "> 0").
func count(id, cmp string) string {
	return fmt.Sprintf(`(t => t !== "" && Number(t) %s)((document.getElementById(%q)?.textContent ?? "").trim())`, cmp, id)
}

// text is true when the element id shows text.
func text(id, text string) string {
	return fmt.Sprintf(`(document.getElementById(%q)?.textContent ?? "").includes(%q)`, id, text)
}

// part is true when the row of a readiness component shows the state want
// and its reason contains reason.
func part(component, want, reason string) string {
	return fmt.Sprintf(`(r => r !== null && r.querySelector(".state")?.textContent.trim() === %q && r.textContent.includes(%q))(document.getElementById("part-" + %q))`,
		want, reason, component)
}
