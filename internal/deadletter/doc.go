// Package deadletter owns the dead letters: the events (or whole
// messages) the bridge will never deliver, kept in a JetStream stream of
// their own with the reason in headers. It creates and checks that stream
// (Ensure), stores dead letters off the pull loop and the senders (Run,
// Submit) and settles each message once its dead letters are safe, seals
// every dead letter with the bridge's key so that a forgery is told apart,
// and lists, finds and replays them (Each, LetterOf, Replay) for
// `bridge dlq` and billing. The consumers in internal/consume hand it a
// Message; it never imports them.
package deadletter
