package metrics

import (
	"runtime/debug"
	"testing"
)

// The build is read from the Go build metadata; what -ldflags stamped
// stands in where it says nothing, and what neither says is "unknown",
// with the reason.
func TestReadBuild(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "63ac087bdd107698067b997daff33b923c6396a5"},
		{Key: "vcs.time", Value: "2026-12-04T19:10:35Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	bare := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	stamp := Version{Version: "v1.4.0", Revision: "1234567", Time: "2026-12-01T10:00:00Z", Modified: "false"}
	tests := map[string]struct {
		bi      *debug.BuildInfo
		stamped Version
		want    Version
	}{
		"a build in a clone": {bi: vcs,
			want: Version{Version: "(devel)", GoVersion: "go1.26.8", Revision: "63ac087bdd107698067b997daff33b923c6396a5", Time: "2026-12-04T19:10:35Z", Modified: "true"}},
		"a clone, stamped too: the metadata wins but for the version": {bi: vcs, stamped: stamp,
			want: Version{Version: "v1.4.0", GoVersion: "go1.26.8", Revision: "63ac087bdd107698067b997daff33b923c6396a5", Time: "2026-12-04T19:10:35Z", Modified: "true"}},
		"the Docker build: no .git, stamped": {bi: bare, stamped: stamp,
			want: Version{Version: "v1.4.0", GoVersion: "go1.26.8", Revision: "1234567", Time: "2026-12-01T10:00:00Z", Modified: "false"}},
		"go run": {bi: bare,
			want: Version{Version: "(devel)", GoVersion: "go1.26.8", Revision: "unknown", Time: "unknown", Modified: "unknown", Unknown: NoVCS}},
		"no build metadata": {
			want: Version{Version: "(devel)", GoVersion: "unknown", Revision: "unknown", Time: "unknown", Modified: "unknown", Unknown: NoVCS}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := readBuild(tc.bi, tc.stamped); got != tc.want {
				t.Errorf("readBuild = %+v\nwant        %+v", got, tc.want)
			}
		})
	}
}
