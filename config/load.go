package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ConfigEnv names the environment variable that points at a YAML file, the
// same as the --config flag.
const ConfigEnv = "BRIDGE_CONFIG"

// Load builds the configuration: defaults, then the YAML file named by
// --config or BRIDGE_CONFIG, then the environment, then the flags in args.
// It registers every setting on fs (the caller may have added flags of its
// own). Errors name the setting and the fix. Load does not Validate: a
// command that only publishes to NATS needs no Konnect token.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	c := Defaults()
	var path string
	byFlag := register(fs, &c, &path)

	// The file comes below the environment and the flags, so find its path
	// before anything else is applied.
	path = getenv(ConfigEnv)
	if p, ok := flagInArgs(args, "config"); ok {
		path = p
	}
	set := map[string]bool{}
	if path != "" {
		if err := loadFile(path, &c, set); err != nil {
			return c, err
		}
	}
	for _, s := range Settings {
		v, ok := lookupEnv(getenv, s.Env)
		if !ok {
			continue
		}
		if err := s.value(&c).Set(v); err != nil {
			return c, fmt.Errorf("%s: %w", s.Env, err)
		}
		set[s.Env] = true
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	fs.Visit(func(f *flag.Flag) {
		if s, ok := byFlag[f.Name]; ok {
			set[s.Env] = true
		}
	})
	if err := applyContext(&c); err != nil {
		return c, err
	}
	c.konnectURLSet = set["KONNECT_URL"]
	c.Bridge.ConsumerStartSet = set["BRIDGE_CONSUMER_START"]
	if !c.konnectURLSet && c.Konnect.Region != "" {
		c.Konnect.URL = RegionURL(c.Konnect.Region)
	}
	return c, nil
}

// Register adds --config and every setting to fs, on their defaults, the
// way Load does, and reads nothing: for a usage text or a completion.
func Register(fs *flag.FlagSet) {
	c := Defaults()
	register(fs, &c, new(string))
}

func register(fs *flag.FlagSet, c *Config, path *string) map[string]Setting {
	fs.StringVar(path, "config", "", "YAML configuration file (env "+ConfigEnv+")")
	byFlag := make(map[string]Setting, len(Settings))
	for _, s := range Settings {
		fs.Var(s.value(c), s.Flag, s.Usage+" (env "+s.Env+")")
		byFlag[s.Flag] = s
	}
	return byFlag
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// flagInArgs finds -name value, --name value or --name=value before the
// first non-flag argument.
func flagInArgs(args []string, name string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			return "", false
		}
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// loadFile applies a YAML file whose keys mirror the settings' YAML names
// (nats.url, batch.size, ...). Unknown keys are refused, so that a typo
// never silently leaves a default in place.
func loadFile(path string, c *Config, set map[string]bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	var tree map[string]any
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&tree); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("--config %s: not valid YAML: %w", path, err)
	}
	byKey := make(map[string]Setting, len(Settings))
	for _, s := range Settings {
		byKey[s.YAML] = s
	}
	flat := map[string]string{}
	flatten("", tree, flat, byKey)
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := byKey[k]
		if !ok {
			return fmt.Errorf("--config %s: unknown setting %q: see config/bridge.example.yaml for the names", path, k)
		}
		if err := s.value(c).Set(flat[k]); err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, k, err)
		}
		set[s.Env] = true
	}
	return nil
}

// flatten turns the tree into setting keys and values. A list is written
// as its items joined by commas, and a map under a setting's own key as
// key=value pairs, the way the environment writes them.
func flatten(prefix string, v any, out map[string]string, settings map[string]Setting) {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := settings[prefix]; ok {
			pairs := make([]string, 0, len(t))
			for _, k := range slices.Sorted(maps.Keys(t)) {
				pairs = append(pairs, k+"="+scalar(t[k]))
			}
			out[prefix] = strings.Join(pairs, ",")
			return
		}
		for k, sub := range t {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, sub, out, settings)
		}
	case []any:
		items := make([]string, len(t))
		for i, item := range t {
			items[i] = scalar(item)
		}
		out[prefix] = strings.Join(items, ",")
	case nil:
	default:
		out[prefix] = scalar(t)
	}
}

func scalar(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
