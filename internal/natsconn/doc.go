// Package natsconn owns the bridge's connection to NATS: connecting and
// reconnecting with the bridge's settings or a natscli context (Connect),
// naming why a server is not reachable (Unreachable), opening the
// JetStream API in its domain or under its prefix (OpenJetStream), the
// embedded server of dev mode and tests (Embedded, StartServer), and the
// least permissions a NATS user needs to run the bridge
// (NeededPermissions). It also holds what the consumers and the dead
// letters share of NATS: the state bucket's shape (StateBucketConfig) and
// bind-only mode's refusal (ErrNotBound). It reads and settles no
// message: that is internal/consume's.
package natsconn
