package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// TestConfigurationDocumentsEverySetting keeps the settings table of
// docs/configuration.md complete: a setting a user cannot find is a setting
// they cannot use.
func TestConfigurationDocumentsEverySetting(t *testing.T) {
	raw, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, s := range config.Settings {
		for _, name := range []string{"`" + s.Env + "`", "`--" + s.Flag + "`", "`" + s.YAML + "`"} {
			if !strings.Contains(doc, name) {
				t.Errorf("docs/configuration.md does not mention %s", name)
			}
		}
	}
	if !strings.Contains(doc, config.ConfigEnv) {
		t.Errorf("docs/configuration.md does not mention %s", config.ConfigEnv)
	}
}
