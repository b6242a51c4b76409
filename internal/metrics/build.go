package metrics

import "runtime/debug"

// version, revision, buildTime and modified, when set at build time
// (-ldflags "-X github.com/konnect-bridge/konnect-bridge/internal/metrics.revision=…",
// as the Dockerfile does from its build arguments), name a build whose Go
// build metadata lacks them: one from a source tree without .git has no
// VCS information, and none has a module version but a released module.
var version, revision, buildTime, modified string

// NoVCS is why a build's revision is unknown, and what to do about it.
const NoVCS = "built without VCS information (go run, or a build outside a git checkout); build with `go build` in a clone"

// Version is the build the binary carries: its Go build metadata (the
// module version; vcs.revision, vcs.time and vcs.modified), or what was
// stamped with -ldflags where that metadata lacks them.
type Version struct {
	Version, GoVersion string
	// Revision is the commit built, Time its time (RFC 3339), Modified
	// "true" when the tree held changes not committed, else "false"; each
	// is "unknown" when neither the build metadata nor -ldflags say it.
	Revision, Time, Modified string
	// Unknown is why Revision is unknown (NoVCS); "" when it is known.
	Unknown string
}

// Build reads the build of the running binary.
func Build() Version {
	bi, _ := debug.ReadBuildInfo()
	return readBuild(bi, Version{Version: version, Revision: revision, Time: buildTime, Modified: modified})
}

// readBuild is the build bi says (nil: no build metadata), with what
// stamped holds where bi says nothing.
func readBuild(bi *debug.BuildInfo, stamped Version) Version {
	v := Version{Version: "(devel)", GoVersion: "unknown"}
	if bi != nil {
		v.GoVersion = bi.GoVersion
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value
			}
		}
	}
	or := func(have *string, stamp string) {
		if *have == "" {
			*have = stamp
		}
		if *have == "" {
			*have = "unknown"
		}
	}
	if stamped.Version != "" {
		v.Version = stamped.Version
	}
	or(&v.Revision, stamped.Revision)
	or(&v.Time, stamped.Time)
	or(&v.Modified, stamped.Modified)
	if v.Revision == "unknown" {
		v.Unknown = NoVCS
	}
	return v
}
