// Package deploy holds deployment examples for the bridge: the compose stack
// at the repository root (docker-compose.yml, Dockerfile), a Grafana
// dashboard, Prometheus alerting rules and a Helm chart. Its tests check that
// these files are wired together and only name metrics the bridge serves, and
// render the chart with Helm's own engine.
//
// It holds no code the bridge runs; nothing imports it. Helm's SDK is
// imported only by its tests, so it never reaches the bridge's binary.
package deploy
