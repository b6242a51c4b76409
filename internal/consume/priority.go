package consume

import (
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// pinHeader is the header with which NATS names the pin of the replica a
// pinned_client consumer delivers to.
const pinHeader = "Nats-Pin-Id"

// prioritize gives cc the priority group and policy of BRIDGE_PRIORITY_POLICY.
func prioritize(cfg config.Config, cc *jetstream.ConsumerConfig) {
	b := cfg.Bridge
	switch b.PriorityPolicy {
	case config.PriorityPinned:
		cc.PriorityPolicy, cc.PinnedTTL = jetstream.PriorityPolicyPinned, b.PinnedTTL
	case config.PriorityOverflow:
		cc.PriorityPolicy = jetstream.PriorityPolicyOverflow
	default:
		return
	}
	cc.PriorityGroups = []string{b.PriorityGroup}
}

// priorityMismatch says how the consumer's priority settings disagree with
// BRIDGE_PRIORITY_POLICY and the fix; "" when they agree.
func priorityMismatch(cfg config.Config, have jetstream.ConsumerConfig) string {
	var want jetstream.ConsumerConfig
	prioritize(cfg, &want)
	b := cfg.Bridge
	switch {
	case have.PriorityPolicy != want.PriorityPolicy:
		return fmt.Sprintf("has priority policy %s and BRIDGE_PRIORITY_POLICY is %s: set BRIDGE_PRIORITY_POLICY=%s, or change the consumer (nats consumer edit), or unset BRIDGE_BIND_ONLY for the bridge to change it", policyName(have.PriorityPolicy), b.PriorityPolicy, policyName(have.PriorityPolicy))
	case want.PriorityPolicy != jetstream.PriorityPolicyNone && !slices.Contains(have.PriorityGroups, b.PriorityGroup):
		return fmt.Sprintf("has priority groups %v, not BRIDGE_PRIORITY_GROUP %s: set BRIDGE_PRIORITY_GROUP to one of them, or add it to the consumer", have.PriorityGroups, b.PriorityGroup)
	}
	return ""
}

// policyName is p as BRIDGE_PRIORITY_POLICY names it.
func policyName(p jetstream.PriorityPolicy) string {
	switch p {
	case jetstream.PriorityPolicyNone:
		return config.PriorityNone
	case jetstream.PriorityPolicyPinned:
		return config.PriorityPinned
	case jetstream.PriorityPolicyOverflow:
		return config.PriorityOverflow
	}
	b, _ := p.MarshalJSON()
	return string(b)
}

// priorityPulls are the pull options of BRIDGE_PRIORITY_POLICY: the group,
// and with overflow this replica's threshold.
func priorityPulls(cfg config.Config) []jetstream.PullConsumeOpt {
	b := cfg.Bridge
	if b.PriorityPolicy == config.PriorityNone {
		return nil
	}
	opts := []jetstream.PullConsumeOpt{jetstream.PullPriorityGroup(b.PriorityGroup)}
	if b.PriorityPolicy == config.PriorityOverflow && b.OverflowMinPending > 0 {
		opts = append(opts, jetstream.PullMinPending(b.OverflowMinPending))
	}
	return opts
}

// standby says why this replica, bound through b, receives nothing by the
// consumer's priority policy, as info shows it; "" while it pulls.
func standby(cfg config.Config, b *binding, info *jetstream.ConsumerInfo) string {
	c := cfg.Bridge
	switch c.PriorityPolicy {
	case config.PriorityPinned:
		for _, g := range info.PriorityGroups {
			if g.Group == c.PriorityGroup && g.PinnedClientID != "" && g.PinnedClientID != b.pin() {
				return fmt.Sprintf("another replica is pinned in priority group %s; this one takes over once it stops pulling for BRIDGE_PINNED_TTL %s", c.PriorityGroup, c.PinnedTTL)
			}
		}
	case config.PriorityOverflow:
		if c.OverflowMinPending > 0 && int64(info.NumPending) < c.OverflowMinPending {
			return fmt.Sprintf("%d message(s) wait, below BRIDGE_OVERFLOW_MIN_PENDING %d; this replica pulls once the backlog reaches it", info.NumPending, c.OverflowMinPending)
		}
	}
	return ""
}
