package fault_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// process is a child process writing its output to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once it exited; then state is set
	// state is how it exited.
	state *os.ProcessState
}

// spawn starts bin with env, appending its stdout and stderr to logPath.
func spawn(t *testing.T, name, logPath string, env []string, bin string, args ...string) *process {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	return p
}

// running reports whether the process has not exited.
func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL, as a crashing node or the OOM killer would, and waits
// for the process to be gone.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not die in 10s after SIGKILL", p.name)
	}
}

// terminate sends SIGTERM, as an orchestrator stopping a pod would, and
// returns the exit code and how long the process took to exit; -1 when it
// did not exit within wait (it is killed then).
func (p *process) terminate(t *testing.T, wait time.Duration) (code int, took time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.done:
		return p.state.ExitCode(), time.Since(start)
	case <-time.After(wait):
		p.kill(t)
		return -1, time.Since(start)
	}
}

// logOnFailure prints the end of a process's log when the test fails.
func logOnFailure(t *testing.T, name, path string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Logf("%s log: %v", name, err)
			return
		}
		const keep = 48 << 10
		if len(b) > keep {
			b = append([]byte("[…]"), b[len(b)-keep:]...)
		}
		t.Logf("%s log (%s):\n%s", name, path, b)
	})
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cleanEnv is this process's environment without settings of the bridge,
// so that a developer's shell cannot change what the suite runs.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NATS_") && !strings.HasPrefix(kv, "KONNECT_") && !strings.HasPrefix(kv, "BRIDGE_") {
			env = append(env, kv)
		}
	}
	return env
}

// natsServer is a nats-server process with JetStream. It keeps its port and
// store directory across restarts, as a server restarted in place does.
type natsServer struct {
	t    *testing.T
	URL  string
	port int
	dir  string
	log  string
	proc *process
}

// startNATS starts nats-server on a free port; it is killed when the test
// ends.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	n := &natsServer{t: t, port: freePort(t), dir: t.TempDir(), log: filepath.Join(t.TempDir(), "nats-server.log")}
	n.URL = fmt.Sprintf("nats://127.0.0.1:%d", n.port)
	logOnFailure(t, "nats-server", n.log)
	n.start()
	t.Cleanup(func() { n.proc.kill(t) })
	return n
}

// start runs the server and waits until JetStream answers.
func (n *natsServer) start() {
	n.t.Helper()
	n.proc = spawn(n.t, "nats-server", n.log, cleanEnv(), natsBin,
		"-js", "-sd", n.dir, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port))
	testkit.Eventually(n.t, 30*time.Second, func() bool {
		if !n.proc.running() {
			n.t.Fatalf("nats-server exited at start: %s", n.proc.state)
		}
		return n.serving()
	}, "nats-server on %s does not serve JetStream", n.URL)
}

// serving reports whether the server accepts a connection and JetStream
// answers on it.
func (n *natsServer) serving() bool {
	nc, err := nats.Connect(n.URL, nats.Timeout(time.Second), nats.NoReconnect())
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err == nil
}

// kill stops the server with SIGKILL.
func (n *natsServer) kill() { n.t.Helper(); n.proc.kill(n.t) }

// restart starts it again on the same port with the same store.
func (n *natsServer) restart() { n.t.Helper(); n.start() }

// bridgeSettings are the timings every bridge of the suite runs with:
// short enough for the faults to play out in seconds.
var bridgeSettings = []string{
	"KONNECT_TOKEN=spat_test",
	"BRIDGE_LOG_FORMAT=json",
	"BRIDGE_ACK_WAIT=3s",
	"BRIDGE_NAK_DELAY=200ms",
	"BRIDGE_RETRY_BUDGET=3s",
	"BRIDGE_RETRY_MAX_BACKOFF=300ms",
	"BRIDGE_PROBE_MAX=500ms",
	"BRIDGE_LINGER=20ms",
	"BRIDGE_BATCH_SIZE=50",
}

// bridge is a bridge process.
type bridge struct {
	*process
	t     *testing.T
	admin string // base URL of its admin server
	log   string // path of the file its output goes to
}

// startBridge runs the bridge against NATS and the Konnect stand-in, with
// the suite's settings and then env, and waits until it is ready. It is
// killed when the test ends if it still runs.
func (s *suite) startBridge(name string, env ...string) *bridge {
	s.t.Helper()
	return s.startBridgeOn(name, "127.0.0.1", env...)
}

// startBridgeOn is startBridge with the admin server bound to host (such
// as 0.0.0.0, every address), reached through 127.0.0.1.
func (s *suite) startBridgeOn(name, host string, env ...string) *bridge {
	s.t.Helper()
	b := s.spawnBridge(name, host, env...)
	b.waitServing("/readyz")
	return b
}

// spawnBridge runs the bridge as startBridgeOn does, and returns once its
// admin server answers /healthz, ready or not.
func (s *suite) spawnBridge(name, host string, env ...string) *bridge {
	t := s.t
	t.Helper()
	port := freePort(t)
	logPath := filepath.Join(t.TempDir(), name+".log")
	logOnFailure(t, name, logPath)
	all := append(cleanEnv(), "NATS_URL="+s.nats.URL, "KONNECT_URL="+s.konnect.URL,
		"BRIDGE_HTTP_ADDR="+net.JoinHostPort(host, strconv.Itoa(port)))
	all = append(append(append(all, bridgeSettings...), s.env...), env...)
	b := &bridge{process: spawn(t, name, logPath, all, bridgeBin, "run"), t: t, admin: fmt.Sprintf("http://127.0.0.1:%d", port), log: logPath}
	t.Cleanup(func() { b.kill(t) })
	b.waitServing("/healthz")
	return b
}

// waitServing waits until the bridge answers 200 on path.
func (b *bridge) waitServing(path string) {
	b.t.Helper()
	testkit.Eventually(b.t, 30*time.Second, func() bool {
		if !b.running() {
			b.t.Fatalf("%s exited before it was ready: %s", b.name, b.state)
		}
		code, _ := b.get(path)
		return code == http.StatusOK
	}, "%s: %s does not answer 200", b.name, path)
}

var adminClient = &http.Client{Timeout: 3 * time.Second}

// get asks the admin server for path; the code is 0 when it did not answer.
func (b *bridge) get(path string) (code int, body []byte) { return b.request(path, "") }

// request asks the admin server for path, with a bearer token unless it is
// empty; the code is 0 when it did not answer.
func (b *bridge) request(path, token string) (int, []byte) {
	req, err := http.NewRequest(http.MethodGet, b.admin+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// readiness is GET /readyz: its status code and report.
func (b *bridge) readiness() (int, health.Report) {
	code, body := b.get("/readyz")
	var r health.Report
	_ = json.Unmarshal(body, &r)
	return code, r
}

// notReady reports whether /readyz answers 503 and names component as the
// part that is not ready.
func (b *bridge) notReady(component health.Component) bool {
	code, r := b.readiness()
	if code != http.StatusServiceUnavailable {
		return false
	}
	for _, c := range r.Components {
		if c.Component == component && !c.Ready {
			return true
		}
	}
	return false
}

// ready reports whether /readyz answers 200.
func (b *bridge) ready() bool {
	code, _ := b.readiness()
	return code == http.StatusOK
}

// metric sums the samples of a metric on /metrics; -1 when it cannot be read.
func (b *bridge) metric(name string) float64 {
	code, body := b.get("/metrics")
	if code != http.StatusOK {
		return -1
	}
	sum := 0.0
	for line := range strings.Lines(string(body)) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// command runs a one-shot bridge command (such as `dlq list`) against the
// suite's NATS and returns what it printed; a failing command fails the test.
func (s *suite) command(args ...string) string {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bridgeBin, args...)
	cmd.Env = append(cleanEnv(), "NATS_URL="+s.nats.URL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bridge %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
