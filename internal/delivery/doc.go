// Package delivery holds the contracts between the stages of the delivery
// core: the Item that consuming hands to publishing, the Settlement
// that publishing gives back for each event, and the Answer a core NATS
// request/reply producer hears of its message. Both internal/consume and
// internal/publish import it; neither imports the other, and
// internal/bridge wires them. It owns no goroutine and does no I/O.
package delivery
