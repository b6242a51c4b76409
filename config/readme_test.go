package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// TestReadmeDocumentsEverySetting keeps the README's configuration table
// complete: a setting a user cannot find is a setting they cannot use.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, s := range config.Settings {
		for _, name := range []string{"`" + s.Env + "`", "`--" + s.Flag + "`", "`" + s.YAML + "`"} {
			if !strings.Contains(readme, name) {
				t.Errorf("README does not mention %s", name)
			}
		}
	}
	if !strings.Contains(readme, config.ConfigEnv) {
		t.Errorf("README does not mention %s", config.ConfigEnv)
	}
}
