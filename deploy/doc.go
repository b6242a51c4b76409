// Package deploy holds deployment examples for the bridge: the compose stack
// at the repository root (docker-compose.yml, Dockerfile), a Grafana
// dashboard and Prometheus alerting rules. Its tests check that these files
// are wired together and only name metrics the bridge serves.
//
// It holds no code the bridge runs; nothing imports it.
package deploy
