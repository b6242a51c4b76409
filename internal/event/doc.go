// Package event owns what an agent-run event must be for Konnect to accept
// it: validation against the MeteringEvent rules, the pure steps that make
// an event deliverable (ensure an id, default the time, normalise the
// content type) and its encoding into a batch body; reading events from a
// message's bytes is its subpackage decode's. It never touches NATS or
// HTTP. Events use the CloudEvents SDK's model (github.com/cloudevents/sdk-go/v2).
package event
