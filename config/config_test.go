package config_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// load runs Load as the bridge command does: a fresh flag set, the given
// arguments and an environment made of env only.
func load(t *testing.T, args []string, env map[string]string) (config.Config, *flag.FlagSet, error) {
	t.Helper()
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := config.Load(fs, args, func(k string) string { return env[k] })
	return cfg, fs, err
}

// writeYAML writes a configuration file into the test's directory.
func writeYAML(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// production is the environment of a bridge reading a real NATS and
// delivering to Konnect: valid as it is.
func production() map[string]string {
	return map[string]string{"NATS_URL": "nats://nats:4222", "KONNECT_TOKEN": "spat_production"}
}

func with(env map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

func TestNothingConfiguredRunsInDevMode(t *testing.T) {
	cfg, _, err := load(t, nil, nil)
	if err != nil {
		t.Fatalf("Load with nothing set: %v", err)
	}
	if cfg != config.Defaults() {
		t.Errorf("Load with nothing set = %+v, want the defaults %+v", cfg, config.Defaults())
	}
	if !cfg.Embedded() {
		t.Error("no NATS_URL: want dev mode with an embedded NATS server")
	}
	if cfg.Target() != config.TargetSandbox {
		t.Error("dev mode without a Konnect token: want the built-in sandbox as the target")
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	if cfg.Konnect.URL != "https://us.api.konghq.com/v3/openmeter/events" {
		t.Errorf("default KONNECT_URL %q, want the us region's ingest URL", cfg.Konnect.URL)
	}
}

func TestFlagsOverEnvironmentOverFileOverDefaults(t *testing.T) {
	file := writeYAML(t, `
nats:
  url: nats://from-file:4222
konnect:
  timeout: 3s
batch:
  size: 50
  linger: 200ms
bridge:
  sandbox: true
`)
	other := writeYAML(t, "batch: {size: 60}\n")
	type want struct {
		natsURL  string
		size     int
		linger   time.Duration
		timeout  time.Duration
		inFlight int
		sandbox  bool
	}
	defaults := config.Defaults()
	tests := map[string]struct {
		args []string
		env  map[string]string
		want want
	}{
		"defaults only": {
			want: want{"", defaults.Batch.Size, defaults.Batch.Linger, defaults.Konnect.Timeout, defaults.Batch.InFlight, false},
		},
		"file named by --config over defaults": {
			args: []string{"--config", file},
			want: want{"nats://from-file:4222", 50, 200 * time.Millisecond, 3 * time.Second, defaults.Batch.InFlight, true},
		},
		"file named by BRIDGE_CONFIG": {
			env:  map[string]string{"BRIDGE_CONFIG": file},
			want: want{"nats://from-file:4222", 50, 200 * time.Millisecond, 3 * time.Second, defaults.Batch.InFlight, true},
		},
		"--config=path over BRIDGE_CONFIG": {
			args: []string{"--config=" + other},
			env:  map[string]string{"BRIDGE_CONFIG": file},
			want: want{"", 60, defaults.Batch.Linger, defaults.Konnect.Timeout, defaults.Batch.InFlight, false},
		},
		"environment over file": {
			args: []string{"-config", file},
			env:  map[string]string{"NATS_URL": "nats://from-env:4222", "BRIDGE_BATCH_SIZE": "70", "BRIDGE_IN_FLIGHT": "8", "BRIDGE_SANDBOX": "false"},
			want: want{"nats://from-env:4222", 70, 200 * time.Millisecond, 3 * time.Second, 8, false},
		},
		"flags over environment": {
			args: []string{"--config", file, "--nats-url", "nats://from-flag:4222", "--batch-size=80", "--sandbox=false"},
			env:  map[string]string{"NATS_URL": "nats://from-env:4222", "BRIDGE_BATCH_SIZE": "70", "BRIDGE_IN_FLIGHT": "8", "BRIDGE_SANDBOX": "true"},
			want: want{"nats://from-flag:4222", 80, 200 * time.Millisecond, 3 * time.Second, 8, false},
		},
		"an empty variable does not override the file": {
			args: []string{"--config", file},
			env:  map[string]string{"NATS_URL": ""},
			want: want{"nats://from-file:4222", 50, 200 * time.Millisecond, 3 * time.Second, defaults.Batch.InFlight, true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := want{cfg.NATS.URL, cfg.Batch.Size, cfg.Batch.Linger, cfg.Konnect.Timeout, cfg.Batch.InFlight, cfg.Bridge.Sandbox}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestConfigFileMistakesAreRefusedByName(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want []string
	}{
		"unknown key":        {"nats:\n  ur: nats://x:4222\n", []string{`unknown setting "nats.ur"`, "bridge.example.yaml"}},
		"unknown section":    {"konect:\n  token: x\n", []string{`"konect.token"`}},
		"not a whole number": {"batch:\n  size: many\n", []string{"batch.size", `"many" is not a whole number`}},
		"not a duration":     {"retry:\n  budget: forever\n", []string{"retry.budget", `"forever" is not a duration`}},
		"not YAML":           {"nats: [url\n", []string{"not valid YAML"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := writeYAML(t, tc.yaml)
			_, _, err := load(t, []string{"--config", path}, nil)
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent.yaml")
		_, _, err := load(t, nil, map[string]string{"BRIDGE_CONFIG": path})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Load with a missing file: %v, want an error naming %s", err, path)
		}
	})
}

func TestBadValuesNameTheSetting(t *testing.T) {
	tests := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"duration in the environment":  {env: map[string]string{"KONNECT_TIMEOUT": "ten"}, want: "KONNECT_TIMEOUT"},
		"linger without a unit":        {env: map[string]string{"BRIDGE_LINGER": "50"}, want: "BRIDGE_LINGER"},
		"whole number in the env":      {env: map[string]string{"BRIDGE_BATCH_SIZE": "lots"}, want: "BRIDGE_BATCH_SIZE"},
		"fraction for a whole number":  {env: map[string]string{"BRIDGE_IN_FLIGHT": "2.5"}, want: "BRIDGE_IN_FLIGHT"},
		"boolean in the environment":   {env: map[string]string{"BRIDGE_SANDBOX": "maybe"}, want: "BRIDGE_SANDBOX"},
		"duration as a flag":           {args: []string{"--retry-budget", "soon"}, want: "retry-budget"},
		"whole number as a flag":       {args: []string{"--batch-bytes=1MB"}, want: "batch-bytes"},
		"unknown flag":                 {args: []string{"--batch-sise=5"}, want: "batch-sise"},
		"retry budget in the env":      {env: map[string]string{"BRIDGE_RETRY_BUDGET": "1 minute"}, want: "BRIDGE_RETRY_BUDGET"},
		"ack wait in the environment":  {env: map[string]string{"BRIDGE_ACK_WAIT": "30"}, want: "BRIDGE_ACK_WAIT"},
		"shutdown timeout in the env":  {env: map[string]string{"BRIDGE_SHUTDOWN_TIMEOUT": "7 s"}, want: "BRIDGE_SHUTDOWN_TIMEOUT"},
		"connect timeout in the env":   {env: map[string]string{"KONNECT_CONNECT_TIMEOUT": "x"}, want: "KONNECT_CONNECT_TIMEOUT"},
		"batch bytes in the env":       {env: map[string]string{"BRIDGE_BATCH_BYTES": "900KiB"}, want: "BRIDGE_BATCH_BYTES"},
		"probe max in the environment": {env: map[string]string{"BRIDGE_PROBE_MAX": "-"}, want: "BRIDGE_PROBE_MAX"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := load(t, tc.args, tc.env)
			if err == nil {
				t.Fatal("Load accepted the value")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

func TestKonnectRegionBuildsTheURL(t *testing.T) {
	for _, region := range config.Regions {
		t.Run(region, func(t *testing.T) {
			cfg, _, err := load(t, nil, with(production(), "KONNECT_REGION", region))
			if err != nil {
				t.Fatal(err)
			}
			want := "https://" + region + ".api.konghq.com/v3/openmeter/events"
			if cfg.Konnect.URL != want {
				t.Errorf("KONNECT_REGION=%s: URL %q, want %q", region, cfg.Konnect.URL, want)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	t.Run("region and the same URL agree", func(t *testing.T) {
		cfg, _, err := load(t, nil, with(production(), "KONNECT_REGION", "eu", "KONNECT_URL", config.RegionURL("eu")))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
}

// TestValidateNamesTheSetting checks that every refusal names the setting a
// user has to change, so that the message alone says what to fix.
func TestValidateNamesTheSetting(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "client.pem")
	if err := os.WriteFile(existing, []byte("not checked here"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "absent.creds")
	tests := map[string]struct {
		env  map[string]string
		args []string
		want []string
	}{
		"region not served":             {env: with(production(), "KONNECT_REGION", "mars"), want: []string{`KONNECT_REGION "mars"`, "us, eu, au, me, in, sg"}},
		"region and URL disagree":       {env: with(production(), "KONNECT_REGION", "eu", "KONNECT_URL", config.RegionURL("us")), want: []string{"KONNECT_URL", `KONNECT_REGION "eu"`, "set only one"}},
		"URL not http":                  {env: with(production(), "KONNECT_URL", "ftp://us.api.konghq.com/events"), want: []string{`KONNECT_URL "ftp://us.api.konghq.com/events"`}},
		"URL without a host":            {env: with(production(), "KONNECT_URL", "https:///v3/openmeter/events"), want: []string{"KONNECT_URL"}},
		"URL not a URL":                 {env: with(production(), "KONNECT_URL", "us.api.konghq.com"), want: []string{"KONNECT_URL", "full ingest URL"}},
		"DLQ subject inside consumed":   {env: with(production(), "BRIDGE_DLQ_SUBJECT", "agent.runs.dlq"), want: []string{`BRIDGE_DLQ_SUBJECT "agent.runs.dlq" is inside the consumed subjects "agent.runs.>"`, "consumed again"}},
		"DLQ subject inside core":       {env: with(production(), "BRIDGE_CORE_SUBJECT", "legacy.>", "BRIDGE_DLQ_SUBJECT", "legacy.dlq"), want: []string{"BRIDGE_DLQ_SUBJECT", "BRIDGE_CORE_SUBJECT"}},
		"DLQ subject with a wildcard":   {env: with(production(), "BRIDGE_DLQ_SUBJECT", "dlq.*"), want: []string{"BRIDGE_DLQ_SUBJECT", "wildcard"}},
		"subject with > inside":         {env: with(production(), "BRIDGE_SUBJECT", "agent.>.runs"), want: []string{"BRIDGE_SUBJECT"}},
		"core subject overlaps stream":  {env: with(production(), "BRIDGE_CORE_SUBJECT", "agent.*.cost"), want: []string{"BRIDGE_CORE_SUBJECT", "BRIDGE_SUBJECT", "read twice"}},
		"DLQ stream is the stream":      {env: with(production(), "BRIDGE_DLQ_STREAM", "AGENT_RUNS"), want: []string{"BRIDGE_DLQ_STREAM"}},
		"stream name with a dot":        {env: with(production(), "BRIDGE_STREAM", "agent.runs"), want: []string{"BRIDGE_STREAM"}},
		"NATS_URL without a token":      {env: map[string]string{"NATS_URL": "nats://nats:4222"}, want: []string{"KONNECT_TOKEN is empty while NATS_URL is set", "BRIDGE_SANDBOX=true"}},
		"region without a token":        {env: map[string]string{"NATS_URL": "nats://nats:4222", "KONNECT_REGION": "eu"}, want: []string{"KONNECT_TOKEN", "eu.api.konghq.com"}},
		"two NATS auth methods":         {env: with(production(), "NATS_TOKEN", "s3cret", "NATS_USER", "bridge", "NATS_PASSWORD", "pw"), want: []string{"NATS_TOKEN", "NATS_USER/NATS_PASSWORD", "only one"}},
		"user without a password":       {env: with(production(), "NATS_USER", "bridge"), want: []string{"NATS_USER and NATS_PASSWORD"}},
		"cert without key":              {env: with(production(), "NATS_CERT", existing), want: []string{"NATS_CERT and NATS_KEY"}},
		"missing creds file":            {env: with(production(), "NATS_CREDS", missing), want: []string{"NATS_CREDS", missing}},
		"missing mapping file":          {env: with(production(), "BRIDGE_MAPPING", missing), want: []string{`BRIDGE_MAPPING "` + missing + `" cannot be read`, "point it at an existing file"}},
		"NATS credentials in dev mode":  {env: map[string]string{"NATS_TOKEN": "s3cret"}, want: []string{"NATS_URL is empty"}},
		"embedded listen not host:port": {env: map[string]string{"BRIDGE_NATS_LISTEN": "4222"}, want: []string{"BRIDGE_NATS_LISTEN"}},
		"admin address not host:port":   {env: with(production(), "BRIDGE_HTTP_ADDR", "8080"), want: []string{"BRIDGE_HTTP_ADDR"}},
		"log level unknown":             {env: with(production(), "BRIDGE_LOG_LEVEL", "loud"), want: []string{"BRIDGE_LOG_LEVEL"}},
		"log format unknown":            {env: with(production(), "BRIDGE_LOG_FORMAT", "xml"), want: []string{"BRIDGE_LOG_FORMAT"}},
		"negative timeout":              {env: with(production(), "KONNECT_TIMEOUT", "-1s"), want: []string{"KONNECT_TIMEOUT", "positive"}},
		"zero connect timeout":          {env: with(production(), "KONNECT_CONNECT_TIMEOUT", "0s"), want: []string{"KONNECT_CONNECT_TIMEOUT"}},
		"zero linger":                   {env: with(production(), "BRIDGE_LINGER", "0s"), want: []string{"BRIDGE_LINGER"}},
		"ack wait too short":            {env: with(production(), "BRIDGE_ACK_WAIT", "1s"), want: []string{"BRIDGE_ACK_WAIT", "at least 3s"}},
		"zero retry budget":             {env: with(production(), "BRIDGE_RETRY_BUDGET", "0s"), want: []string{"BRIDGE_RETRY_BUDGET"}},
		"zero max backoff":              {env: with(production(), "BRIDGE_RETRY_MAX_BACKOFF", "0s"), want: []string{"BRIDGE_RETRY_MAX_BACKOFF"}},
		"zero nak delay":                {env: with(production(), "BRIDGE_NAK_DELAY", "0s"), want: []string{"BRIDGE_NAK_DELAY"}},
		"zero probe max":                {env: with(production(), "BRIDGE_PROBE_MAX", "0s"), want: []string{"BRIDGE_PROBE_MAX"}},
		"zero shutdown timeout":         {env: with(production(), "BRIDGE_SHUTDOWN_TIMEOUT", "0s"), want: []string{"BRIDGE_SHUTDOWN_TIMEOUT"}},
		"batch size zero":               {env: with(production(), "BRIDGE_BATCH_SIZE", "0"), want: []string{"BRIDGE_BATCH_SIZE 0 is out of range"}},
		"batch size too large":          {env: with(production(), "BRIDGE_BATCH_SIZE", "10001"), want: []string{"BRIDGE_BATCH_SIZE 10001 is out of range"}},
		"prefetch bytes too small":      {env: with(production(), "BRIDGE_PREFETCH_BYTES", "1000"), want: []string{"BRIDGE_PREFETCH_BYTES 1000 is too small"}},
		"prefetch bytes too large":      {env: with(production(), "BRIDGE_PREFETCH_BYTES", "67108864"), want: []string{"BRIDGE_PREFETCH_BYTES 67108864 is too large"}},
		"held bytes too small":          {env: with(production(), "BRIDGE_HELD_BYTES", "1000"), want: []string{"BRIDGE_HELD_BYTES 1000 is too small"}},
		"no events per message":         {env: with(production(), "BRIDGE_MAX_EVENTS_PER_MESSAGE", "0"), want: []string{"BRIDGE_MAX_EVENTS_PER_MESSAGE 0 must be at least 1"}},
		"unknown time policy":           {env: with(production(), "BRIDGE_TIME_POLICY", "drop"), want: []string{`BRIDGE_TIME_POLICY "drop" is not flag or deadletter`}},
		"unknown priority policy":       {env: with(production(), "BRIDGE_PRIORITY_POLICY", "pinned"), want: []string{`BRIDGE_PRIORITY_POLICY "pinned": use none`}},
		"pinned TTL within a pull":      {env: with(with(production(), "BRIDGE_PRIORITY_POLICY", "pinned_client"), "BRIDGE_PINNED_TTL", "5s"), want: []string{"BRIDGE_PINNED_TTL 5s is too short: use more than the 5s pull expiry"}},
		"priority group too long":       {env: with(with(production(), "BRIDGE_PRIORITY_POLICY", "overflow"), "BRIDGE_PRIORITY_GROUP", "konnect-bridge-eu-1"), want: []string{`BRIDGE_PRIORITY_GROUP "konnect-bridge-eu-1" is not a priority group name`}},
		"negative overflow threshold":   {env: with(with(production(), "BRIDGE_PRIORITY_POLICY", "overflow"), "BRIDGE_OVERFLOW_MIN_PENDING", "-1"), want: []string{"BRIDGE_OVERFLOW_MIN_PENDING -1 is negative"}},
		"no future bound":               {env: with(production(), "BRIDGE_MAX_FUTURE", "0s"), want: []string{"BRIDGE_MAX_FUTURE 0s must be positive"}},
		"dead-letter stream too small":  {env: with(production(), "BRIDGE_DLQ_MAX_BYTES", "1000"), want: []string{"BRIDGE_DLQ_MAX_BYTES 1000 is too small"}},
		"batch size as a flag":          {env: production(), args: []string{"--batch-size", "-5"}, want: []string{"BRIDGE_BATCH_SIZE -5"}},
		"batch bytes too small":         {env: with(production(), "BRIDGE_BATCH_BYTES", "100"), want: []string{"BRIDGE_BATCH_BYTES"}},
		"in flight out of range":        {env: with(production(), "BRIDGE_IN_FLIGHT", "65"), want: []string{"BRIDGE_IN_FLIGHT"}},
		"token over plain http":         {env: with(production(), "KONNECT_URL", "http://eu.api.konghq.com/v3/openmeter/events"), want: []string{`KONNECT_URL "http://eu.api.konghq.com/v3/openmeter/events"`, "clear text", "https://", "KONNECT_ALLOW_PLAIN_HTTP=true"}},
		"token over upper-case HTTP":    {env: with(production(), "KONNECT_URL", "HTTP://openmeter.konnect.invalid:8888/api/v1/events"), want: []string{"KONNECT_URL", "KONNECT_ALLOW_PLAIN_HTTP"}},
		"consumer start unknown":        {env: with(production(), "BRIDGE_CONSUMER_START", "yesterday"), want: []string{`BRIDGE_CONSUMER_START "yesterday"`, "all", "new", "RFC 3339"}},
		"state bucket with a dot":       {env: with(production(), "BRIDGE_STATE_BUCKET", "bridge.state"), want: []string{"BRIDGE_STATE_BUCKET"}},
		"core pending zero":             {env: with(production(), "BRIDGE_CORE_PENDING", "0"), want: []string{"BRIDGE_CORE_PENDING"}},
		"sandbox keep zero":             {env: with(production(), "BRIDGE_SANDBOX_KEEP", "0"), want: []string{"BRIDGE_SANDBOX_KEEP"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { refusedSaying(t, tc.args, tc.env, tc.want) })
	}
}

// refusedSaying loads args and env and checks that Validate refuses them,
// saying each of want.
func refusedSaying(t *testing.T, args []string, env map[string]string, want []string) {
	t.Helper()
	cfg, _, err := load(t, args, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted the configuration")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %q\ndoes not say %q", err, w)
		}
	}
}

// TestValidateRefusesSecretsWithWhiteSpace: a token taken from a file often
// keeps the file's last newline, and the server then refuses it without
// saying why. The bridge refuses to start, names the setting and never
// shows the secret.
func TestValidateRefusesSecretsWithWhiteSpace(t *testing.T) {
	const secret = "spat_0123456789SECRET"
	tests := map[string]struct {
		env  map[string]string
		want string
	}{
		"Konnect token with a trailing newline":  {with(production(), "KONNECT_TOKEN", secret+"\n"), "KONNECT_TOKEN has white space or a line break in it"},
		"Konnect token with a carriage return":   {with(production(), "KONNECT_TOKEN", secret+"\r\n"), "KONNECT_TOKEN has white space or a line break in it"},
		"Konnect token with a leading space":     {with(production(), "KONNECT_TOKEN", " "+secret), "KONNECT_TOKEN has white space"},
		"Konnect token with a space inside":      {with(production(), "KONNECT_TOKEN", "Bearer "+secret), "KONNECT_TOKEN has white space"},
		"Konnect token with a tab":               {with(production(), "KONNECT_TOKEN", secret+"\t"), "KONNECT_TOKEN has white space"},
		"NATS token with a trailing newline":     {with(production(), "NATS_TOKEN", secret+"\n"), "NATS_TOKEN has white space or a line break in it"},
		"NATS password with a trailing newline":  {with(production(), "NATS_USER", "bridge", "NATS_PASSWORD", secret+"\n"), "NATS_PASSWORD has white space at an end or a line break in it"},
		"NATS password with a line break inside": {with(production(), "NATS_USER", "bridge", "NATS_PASSWORD", "pass\nword"+secret), "NATS_PASSWORD"},
		"NATS password with an escape character": {with(production(), "NATS_USER", "bridge", "NATS_PASSWORD", secret+"\x1b"), "NATS_PASSWORD"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := load(t, nil, tc.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = cfg.Validate()
			if err == nil {
				t.Fatal("Validate accepted the secret")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %q\ndoes not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Validate shows the secret: %q", err)
			}
		})
	}
}

// TestValidateNeverShowsCredentialsInURLs: a KONNECT_URL may carry a key in
// its query, or a user and password; a message about it names the setting
// without them.
func TestValidateNeverShowsCredentialsInURLs(t *testing.T) {
	tests := map[string]map[string]string{
		"not http, with a key in the query": with(production(), "KONNECT_URL", "ftp://us.api.konghq.com/events?apikey=S3cretKey"),
		"not http, with a password":         with(production(), "KONNECT_URL", "ftp://admin:S3cretKey@us.api.konghq.com/events"),
		"disagrees with the region":         with(production(), "KONNECT_REGION", "eu", "KONNECT_URL", config.RegionURL("us")+"?token=S3cretKey"),
		"not a URL, with a password":        with(production(), "KONNECT_URL", "admin:S3cretKey@us.api.konghq.com"),
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := load(t, nil, env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), "KONNECT_URL") {
				t.Fatalf("Validate: %v, want a problem naming KONNECT_URL", err)
			}
			if strings.Contains(err.Error(), "S3cretKey") {
				t.Errorf("Validate shows the credential: %q", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := map[string]struct{ url, want string }{
		"nothing to hide":              {"nats://nats:4222", "nats://nats:4222"},
		"user and password":            {"nats://admin:S3cretPW@nats:4222", "nats://redacted@nats:4222"},
		"token as the user":            {"nats://S3cretToken@nats:4222", "nats://redacted@nats:4222"},
		"a list of servers":            {"nats://admin:S3cretPW@n1:4222,nats://admin:S3cretPW@n2:4222", "nats://redacted@n1:4222,nats://redacted@n2:4222"},
		"a list with spaces":           {"nats://n1:4222, nats://admin:S3cretPW@n2:4222", "nats://n1:4222, nats://redacted@n2:4222"},
		"tls scheme":                   {"tls://admin:S3cretPW@nats.example.com:4443", "tls://redacted@nats.example.com:4443"},
		"no scheme":                    {"admin:S3cretPW@nats:4222", "redacted@nats:4222"},
		"query with a key":             {"https://ingest.example.com/api/v1/events?apikey=S3cretKey", "https://ingest.example.com/api/v1/events"},
		"fragment":                     {"https://ingest.example.com/events#S3cretKey", "https://ingest.example.com/events"},
		"password and query":           {"https://u:S3cretPW@ingest.example.com/events?k=S3cretKey", "https://redacted@ingest.example.com/events"},
		"password with an @":           {"nats://admin:S3cret@PW@nats:4222", "nats://redacted@nats:4222"},
		"password with a / ? and #":    {"nats://admin:S3/cr?et#PW@nats:4222", "nats://redacted@nats:4222"},
		"password with an escape":      {"nats://admin:S3cret%zzPW@nats:4222", "nats://redacted@nats:4222"},
		"Konnect's URL is left as is":  {config.RegionURL("eu"), config.RegionURL("eu")},
		"empty":                        {"", ""},
		"an embedded server's address": {"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := config.RedactURL(tc.url)
			if got != tc.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tc.url, got, tc.want)
			}
			for _, secret := range []string{"S3cret", "PW", "Key", "Token"} {
				if strings.Contains(got, secret) {
					t.Errorf("RedactURL(%q) = %q shows %q", tc.url, got, secret)
				}
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "bridge.creds")
	if err := os.WriteFile(existing, []byte("not checked here"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		env    map[string]string
		target config.Target
	}{
		"production with a token":           {production(), config.TargetKonnect},
		"NATS_URL with BRIDGE_SANDBOX=true": {map[string]string{"NATS_URL": "nats://nats:4222", "BRIDGE_SANDBOX": "true"}, config.TargetSandbox},
		"self-hosted OpenMeter without a token": {
			map[string]string{"NATS_URL": "nats://nats:4222", "KONNECT_URL": "http://openmeter:8888/api/v1/events"}, config.TargetKonnect,
		},
		"dev mode delivering to Konnect":     {map[string]string{"KONNECT_TOKEN": "spat_dev"}, config.TargetKonnect},
		"dev mode with BRIDGE_SANDBOX=true":  {map[string]string{"BRIDGE_SANDBOX": "true"}, config.TargetSandbox},
		"a token wins over BRIDGE_SANDBOX":   {with(production(), "BRIDGE_SANDBOX", "true"), config.TargetKonnect},
		"creds file that exists":             {with(production(), "NATS_CREDS", existing), config.TargetKonnect},
		"DLQ subject outside the consumed":   {with(production(), "BRIDGE_DLQ_SUBJECT", "agent.dlq"), config.TargetKonnect},
		"core subject beside the stream":     {with(production(), "BRIDGE_CORE_SUBJECT", "legacy.runs.>"), config.TargetKonnect},
		"batch size at its largest":          {with(production(), "BRIDGE_BATCH_SIZE", "10000"), config.TargetKonnect},
		"batch size of one":                  {with(production(), "BRIDGE_BATCH_SIZE", "1"), config.TargetKonnect},
		"region with a token":                {with(production(), "KONNECT_REGION", "au"), config.TargetKonnect},
		"user and password together":         {with(production(), "NATS_USER", "bridge", "NATS_PASSWORD", "pw"), config.TargetKonnect},
		"a password with a space inside":     {with(production(), "NATS_USER", "bridge", "NATS_PASSWORD", "correct horse battery staple"), config.TargetKonnect},
		"subject captured by a * wildcard":   {with(production(), "BRIDGE_SUBJECT", "agent.*.runs"), config.TargetKonnect},
		"DLQ subject beside a * wildcard":    {with(production(), "BRIDGE_SUBJECT", "agent.*", "BRIDGE_DLQ_SUBJECT", "agent.runs.dlq"), config.TargetKonnect},
		"BRIDGE_SANDBOX without NATS or URL": {map[string]string{"BRIDGE_SANDBOX": "1"}, config.TargetSandbox},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := load(t, nil, tc.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate refused: %v", err)
			}
			if got := cfg.Target(); got != tc.target {
				t.Errorf("Target() = %v, want %v", got, tc.target)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg, _, err := load(t, nil, with(production(), "KONNECT_REGION", "mars", "BRIDGE_BATCH_SIZE", "0", "BRIDGE_LOG_LEVEL", "loud"))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, name := range []string{"KONNECT_REGION", "BRIDGE_BATCH_SIZE", "BRIDGE_LOG_LEVEL"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate: %v, want a problem with %s among the others", err, name)
		}
	}
}

func TestSecretsNeverShow(t *testing.T) {
	const konnectToken, natsPassword = "spat_0123456789abcdefSECRET", "nats-pw-SECRET"
	tests := map[string]struct {
		args []string
		env  map[string]string
	}{
		"from the environment": {env: map[string]string{"NATS_URL": "nats://nats:4222", "KONNECT_TOKEN": konnectToken, "NATS_USER": "bridge", "NATS_PASSWORD": natsPassword}},
		"from flags":           {args: []string{"--konnect-token", konnectToken, "--nats-user=bridge", "--nats-password=" + natsPassword, "--nats-url=nats://nats:4222"}},
		"from a file": {args: []string{"--config", writeYAML(t, fmt.Sprintf(
			"nats:\n  url: nats://nats:4222\n  user: bridge\n  password: %s\nkonnect:\n  token: %s\n", natsPassword, konnectToken))}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, fs, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Konnect.Token.Reveal() != konnectToken || cfg.NATS.Password.Reveal() != natsPassword {
				t.Fatal("the secrets were not loaded, so this test would prove nothing")
			}
			var usage bytes.Buffer
			fs.SetOutput(&usage)
			fs.PrintDefaults()
			if !strings.Contains(usage.String(), "KONNECT_TOKEN") {
				t.Fatalf("usage text does not list KONNECT_TOKEN:\n%s", usage.String())
			}
			js, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			shown := map[string]string{
				"fmt.Sprint of the token":     fmt.Sprint(cfg.Konnect.Token),
				"fmt.Sprintf %v of Config":    fmt.Sprintf("%v", cfg),
				"fmt.Sprintf %+v of Config":   fmt.Sprintf("%+v", cfg),
				"fmt.Sprintf %s of the token": fmt.Sprintf("%s", cfg.Konnect.Token),
				"usage text":                  usage.String(),
				"json.Marshal of Config":      string(js),
				"the flag's value":            fs.Lookup("konnect-token").Value.String(),
			}
			for where, text := range shown {
				for _, secret := range []string{konnectToken, natsPassword} {
					if strings.Contains(text, secret) {
						t.Errorf("%s shows a secret: %s", where, text)
					}
				}
			}
			if got := fmt.Sprint(cfg.Konnect.Token); got != "[redacted]" {
				t.Errorf("fmt.Sprint(token) = %q, want [redacted]", got)
			}
		})
	}
}

func TestSubjectMatches(t *testing.T) {
	tests := map[string]struct {
		pattern, subject string
		want             bool
	}{
		"literal equal":             {"agent.runs", "agent.runs", true},
		"literal different":         {"agent.runs", "agent.jobs", false},
		"literal shorter":           {"agent.runs", "agent.runs.eu", false},
		"literal longer":            {"agent.runs.eu", "agent.runs", false},
		"> takes one token":         {"agent.runs.>", "agent.runs.dlq", true},
		"> takes many tokens":       {"agent.runs.>", "agent.runs.eu.acme", true},
		"> needs at least one":      {"agent.runs.>", "agent.runs", false},
		"> alone takes anything":    {">", "dlq", true},
		"* takes exactly one token": {"agent.*.cost", "agent.runs.cost", true},
		"* does not take two":       {"agent.*", "agent.runs.cost", false},
		"* needs a token":           {"agent.*", "agent", false},
		"prefix is not a token":     {"agent.run.>", "agent.runs.eu", false},
		"DLQ outside the default":   {"agent.runs.>", "dlq.agent.runs", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := config.SubjectMatches(tc.pattern, tc.subject); got != tc.want {
				t.Errorf("SubjectMatches(%q, %q) = %v, want %v", tc.pattern, tc.subject, got, tc.want)
			}
		})
	}
}

func TestSubjectCovers(t *testing.T) {
	tests := map[string]struct {
		pattern, sub string
		want         bool
	}{
		"same literal":                  {"agent.runs", "agent.runs", true},
		"other literal":                 {"agent.runs", "agent.jobs", false},
		"> covers a literal below":      {"agent.>", "agent.runs.eu", true},
		"> covers * below":              {"agent.>", "agent.*", true},
		"> covers > below":              {"agent.>", "agent.runs.>", true},
		"> covers itself":               {"agent.runs.>", "agent.runs.>", true},
		"> does not cover its parent":   {"agent.runs.>", "agent.runs", false},
		"> does not cover a wider >":    {"agent.runs.>", "agent.>", false},
		"* covers a literal":            {"agent.*", "agent.runs", true},
		"* covers *":                    {"agent.*", "agent.*", true},
		"* does not cover >":            {"agent.*", "agent.>", false},
		"literal does not cover *":      {"agent.runs", "agent.*", false},
		"* does not cover longer":       {"agent.*", "agent.runs.eu", false},
		"literal does not cover longer": {"agent", "agent.runs", false},
		"> alone covers everything":     {">", "a.*.>", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := config.SubjectCovers(tc.pattern, tc.sub); got != tc.want {
				t.Errorf("SubjectCovers(%q, %q) = %v, want %v", tc.pattern, tc.sub, got, tc.want)
			}
		})
	}
}

// TestExampleConfigurationIsCompleteAndLoads keeps bridge.example.yaml in
// step with the settings: it loads as it is, it shows the defaults, and it
// lists every setting under its YAML key with its environment variable.
func TestExampleConfigurationIsCompleteAndLoads(t *testing.T) {
	const path = "bridge.example.yaml"
	cfg, _, err := load(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	// The defaults, except the fence, which the example turns on.
	want := config.Defaults()
	want.Fence = config.Fence{Subjects: "agent.runs.{customer}", Customers: "acme=acme-inc"}
	if cfg != want {
		t.Errorf("the example does not show the defaults:\nloaded   %+v\ndefaults %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the example, used as it is, does not validate: %v", err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	// Settings the example shows commented out: setting them at all means
	// something (consumer_start set is the operator's word after a floor
	// record was deleted).
	commented := map[string]bool{"bridge.consumer_start": true}
	for _, s := range config.Settings {
		leaf := s.YAML[strings.LastIndex(s.YAML, ".")+1:] + ":"
		if commented[s.YAML] {
			if !strings.Contains(string(raw), "# "+leaf) {
				t.Errorf("the example does not show %s (%s), commented out", s.YAML, s.Env)
			}
		} else if !hasKey(tree, strings.Split(s.YAML, ".")) {
			t.Errorf("the example has no key %s (%s)", s.YAML, s.Env)
			continue
		}
		// The comment that explains a key names its environment variable:
		// look for it on the key's line or the comment lines just above.
		found := false
		for i, l := range lines {
			key := strings.TrimSpace(l)
			if commented[s.YAML] {
				key = strings.TrimPrefix(key, "# ")
			}
			if !strings.HasPrefix(key, leaf) {
				continue
			}
			for j := i; j >= 0 && (j == i || strings.HasPrefix(strings.TrimSpace(lines[j]), "#")); j-- {
				found = found || strings.Contains(lines[j], s.Env)
			}
		}
		if !found {
			t.Errorf("the example does not name %s beside its key %s", s.Env, s.YAML)
		}
	}
}

func hasKey(tree map[string]any, path []string) bool {
	v, ok := tree[path[0]]
	if !ok {
		return false
	}
	if len(path) == 1 {
		return true
	}
	sub, ok := v.(map[string]any)
	return ok && hasKey(sub, path[1:])
}

// TestPlainHTTPTokenOnlyWhereItCannotBeRead: the token may go over http://
// to this machine, or anywhere once KONNECT_ALLOW_PLAIN_HTTP says the
// network is trusted; an OpenMeter without a token needs nothing.
func TestPlainHTTPTokenOnlyWhereItCannotBeRead(t *testing.T) {
	tests := map[string]map[string]string{
		"loopback address":       with(production(), "KONNECT_URL", "http://127.0.0.1:8888/api/v1/events"),
		"localhost":              with(production(), "KONNECT_URL", "http://localhost:8888/api/v1/events"),
		"IPv6 loopback":          with(production(), "KONNECT_URL", "http://[::1]:8888/api/v1/events"),
		"allowed on purpose":     with(production(), "KONNECT_URL", "http://openmeter.konnect.invalid:8888/api/v1/events", "KONNECT_ALLOW_PLAIN_HTTP", "true"),
		"no token to protect":    {"NATS_URL": "nats://nats:4222", "KONNECT_URL": "http://openmeter.konnect.invalid:8888/api/v1/events"},
		"https to a remote host": with(production(), "KONNECT_URL", "https://openmeter.konnect.invalid/api/v1/events"),
		"consumer start new":     with(production(), "BRIDGE_CONSUMER_START", "new"),
		"consumer start at time": with(production(), "BRIDGE_CONSUMER_START", "2026-11-01T00:00:00Z"),
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := load(t, nil, env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate refused it: %v", err)
			}
		})
	}
}

// BRIDGE_CONSUMER_START given in any way, even as its default value, is the
// operator's word on where a consumer without a floor starts; left out, it
// is not (a deleted floor record is then refused).
func TestConsumerStartKnowsWhetherItWasSet(t *testing.T) {
	yaml := writeYAML(t, "bridge:\n  consumer_start: all\n")
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		set  bool
	}{
		"left out": {nil, production(), false},
		"env":      {nil, with(production(), "BRIDGE_CONSUMER_START", "all"), true},
		"flag":     {[]string{"--consumer-start", "new"}, production(), true},
		"YAML":     {[]string{"--config", yaml}, production(), true},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Bridge.ConsumerStartSet != tc.set {
				t.Errorf("ConsumerStartSet = %v, want %v", cfg.Bridge.ConsumerStartSet, tc.set)
			}
		})
	}
}
