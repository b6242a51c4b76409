// Package deploy holds deployment examples for the bridge: the compose stack
// at the repository root (docker-compose.yml, Dockerfile), a Grafana
// dashboard, Prometheus alerting rules and a Helm chart. Its tests check that
// these files are wired together and only name metrics the bridge serves, and
// render the chart with Helm's own engine.
//
// It holds no code the bridge runs; nothing imports it. It is a module of
// its own (deploy/go.mod), with every test that needs a heavy dependency:
// Helm's SDK, the Kubernetes API types and compose-go here, chromedp in
// deploy/browser. So the bridge's go.mod never requires them, and they never
// reach its binary or the build of a program importing its packages.
package deploy
