package publish

import "time"

// action is what the sender does next with the part of a batch it sent.
type action int

const (
	// deliverAll: Konnect took the part; every event is delivered.
	deliverAll action = iota
	// deadLetter: Konnect refused the part's one event for good.
	deadLetter
	// split: Konnect refused a part of several events: send each half on
	// its own to find the ones it refuses.
	split
	// retry: a transient failure; send the part again after wait.
	retry
	// probe: an outage holds every request; send the part again after
	// wait, past the gate, as the probe that tells when Konnect recovers.
	probe
	// handBack: the batch's retry budget is spent; hand the part's
	// messages back for redelivery after wait.
	handBack
)

func (a action) String() string {
	return [...]string{"deliver", "dead_letter", "split", "retry", "probe", "hand_back"}[a]
}

// progress is what the sender knows about a batch when an answer comes. A
// batch and all the parts it is split into share one progress, and with it
// one retry budget.
type progress struct {
	// events is how many events the part just sent holds.
	events int
	// retries counts the transient failures of the batch so far.
	retries int
	// elapsed is the time since the batch's first request.
	elapsed time.Duration
	// probing is the wait between probes while an outage lasts; 0 when
	// none does.
	probing time.Duration
	// jitter, in [0, 1), draws the random half of the backoff.
	jitter float64
}

// step is what to do next, and the progress to carry on with.
type step struct {
	do   action
	wait time.Duration
	next progress
	// recovered: the answer ended an outage; delivery resumes.
	recovered bool
	// outage: the answer holds every request (an Outage, or a proxy's 413
	// to one event), so the probe reports an outage rather than a failure
	// on the way.
	outage bool
}

// decide says what to do after answer a to a part of a batch. It is the
// sender's whole retry policy, a pure function of its inputs.
func decide(p progress, a Answer, l Limits) step {
	s := step{next: p}
	if a.Unexpected && a.Verdict == Rejected && p.events == 1 {
		// A proxy's 413 to one event: hold it, never dead-letter it on a
		// proxy's word (Classify).
		a.Verdict = Outage
	}
	if p.probing > 0 && a.TakesAuth() {
		s.next.probing, s.recovered = 0, true
	}
	switch {
	case a.Verdict == Delivered:
		s.do = deliverAll
	case a.Verdict == Rejected && p.events == 1:
		s.do = deadLetter
	case a.Verdict == Rejected:
		s.do = split
	case a.Verdict == Outage:
		s.outage = true
		s.next.probing = min(max(2*p.probing, time.Second), l.ProbeMax)
		s.do, s.wait = probe, s.next.probing
	case p.probing > 0:
		// A 503, a timeout or a dropped connection says nothing about the
		// token or the URL: the outage holds, and so does the probe.
		s.do, s.wait = probe, max(p.probing, a.Delay)
	default:
		s.next.retries++
		// Konnect's Retry-After holds every request through the gate; the
		// backoff keeps a Retry-After of 0 from sending again at once.
		s.wait = max(a.Delay, backoff(s.next.retries, l.MaxBackoff, p.jitter))
		s.do = retry
		if p.elapsed+s.wait > l.RetryBudget {
			s.do, s.wait = handBack, l.NakDelay
		}
	}
	return s
}

// backoff is exponential from 100ms, capped, with equal jitter: half of it
// fixed, the other half drawn by jitter in [0, 1).
func backoff(retry int, limit time.Duration, jitter float64) time.Duration {
	d := min(100*time.Millisecond<<min(retry-1, 20), limit)
	return d/2 + time.Duration(jitter*float64(d/2))
}
