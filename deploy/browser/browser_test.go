package browser_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
)

// wait bounds every wait of this package: generous, since the machine is
// shared and -race is slow, but far below the test binary's timeout.
const wait = 20 * time.Second

// chromium is the browser the status page is checked in: the OS package
// (Debian's chromium), which .ci/run installs. Outside CI a machine without
// it skips; under CI=true that is a failure, since CI must run the check.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI must check the status page in a browser: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed: apt-get install chromium to check the status page in a real browser")
	return ""
}

// phone is a page open in headless Chromium emulating a phone 390 pixels
// wide, with everything the page wrote to the console.
type phone struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// openPhone starts the Chromium at path, emulates an iPhone 12 Pro (390 × 844) and
// opens url. The browser runs without network access of its own (no
// updates, sync or QUIC) and stops when the test ends.
func openPhone(t *testing.T, path, url string) *phone {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	p := &phone{t: t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.Emulate(device.IPhone12Pro)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return p
}

// eval runs a JavaScript expression in the page, bounded in time.
func eval[T any](p *phone, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// eventually waits until the JavaScript expression cond is true in the
// page as it is then, without navigating: whatever changed, the page
// showed by itself. On failure it shows what the page says.
func (p *phone) eventually(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if ok, err := eval[bool](p, cond); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("after %s the page does not show %s (%s); it reads:\n%s", wait, what, cond, p.text())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// text is what a reader sees on the page.
func (p *phone) text() string {
	s, err := eval[string](p, `document.body.innerText`)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return s
}

// fitsScreen fails when the page is laid out wider than the phone: the
// viewport must be the device's width (not a zoomed-out desktop page) and
// no element may reach past its right edge.
func (p *phone) fitsScreen(when string) {
	p.t.Helper()
	width, err := eval[float64](p, `document.documentElement.clientWidth`)
	if err != nil {
		p.t.Fatal(err)
	}
	if width != 390 {
		p.t.Errorf("%s: the page is laid out %v pixels wide on a 390-pixel phone (no viewport meta tag?)", when, width)
	}
	wide, err := eval[[]string](p, `[...document.body.querySelectorAll("*")]
		.filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
		.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + ": " + e.textContent.trim().slice(0, 40))`)
	if err != nil {
		p.t.Fatal(err)
	}
	if len(wide) > 0 {
		p.t.Errorf("%s: %d elements reach past the phone's right edge:\n%s", when, len(wide), strings.Join(wide, "\n"))
	}
}

// screenshot keeps the whole page as a PNG in the test's artifact
// directory (go test -artifacts keeps it).
func (p *phone) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(p.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot at phone width: %s", path)
}

// problems are the console's errors and warnings, and uncaught exceptions.
func (p *phone) problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.console {
		if m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
		}
	}
	return out
}
