// Package billing answers "will every event the bridge delivered be
// invoiced?". It owns a client for Konnect's read API (meters, customers,
// the metering events Konnect stored, meter queries, and the billing
// side: subscriptions, features, plans, charges), the invoice preview
// (each priced feature's quantity over its service period, beside what the
// bridge delivered for the customer), reading the stream's
// messages in a time window without consuming them, the preflight (a meter
// for every event type, properties that resolve, a customer for every
// subject), the reconciliation of the stream against what Konnect stored,
// and the periodic check of the running bridge.
//
// It never delivers, acknowledges or changes anything: every call only
// reads, from NATS and from Konnect, and a failure here never holds up
// delivery.
package billing
