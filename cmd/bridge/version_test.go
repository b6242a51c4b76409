package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// versionShape is what `bridge version` prints: the module version, then
// the revision, its time and whether the tree was modified, each a value
// or "unknown", and the Go version.
var versionShape = regexp.MustCompile(`^konnect-bridge \S+
  revision: ([0-9a-f]{7,40}|unknown)
  time:     (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)|unknown)
  modified: (true|false|unknown)
  go:       \S+
`)

// `bridge version` says the revision, its time and whether the tree was
// modified, or that they are unknown and why, with what to do.
func TestVersionSaysTheRevisionOrWhyItIsUnknown(t *testing.T) {
	code, out := bridgeCmd(t, nil, "version")
	if code != 0 {
		t.Fatalf("bridge version: exit %d:\n%s", code, out)
	}
	checkVersion(t, out, strings.Contains(out, "revision: unknown"))

	for name, v := range map[string]metrics.Version{
		"from a clone":  {Version: "v1.4.0", Revision: "63ac087bdd107698067b997daff33b923c6396a5", Time: "2026-12-04T19:10:35Z", Modified: "true", GoVersion: "go1.26.8"},
		"from -ldflags": {Version: "v1.4.0", Revision: "63ac087", Time: "2026-12-04T20:10:35+01:00", Modified: "unknown", GoVersion: "go1.26.8"},
		"without VCS":   {Version: "(devel)", Revision: "unknown", Time: "unknown", Modified: "unknown", GoVersion: "go1.26.8", Unknown: metrics.NoVCS},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			printVersion(&b, v)
			checkVersion(t, b.String(), v.Unknown != "")
			for _, want := range []string{v.Version, v.Revision, v.Time, v.Modified} {
				if !strings.Contains(b.String(), want) {
					t.Errorf("does not say %q:\n%s", want, b.String())
				}
			}
		})
	}
}

func checkVersion(t *testing.T, out string, unknown bool) {
	t.Helper()
	if !versionShape.MatchString(out) {
		t.Errorf("the output is not shaped as %s:\n%s", versionShape, out)
	}
	const why = "revision unknown: built without VCS information (go run, or a build outside a git checkout); build with `go build` in a clone\n"
	if says := strings.HasSuffix(out, why); says != unknown {
		t.Errorf("says why the revision is unknown: %v, want %v:\n%s", says, unknown, out)
	}
}
