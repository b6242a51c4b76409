package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Not invoiced: events attributed to a customer that no invoice will show,
// for the customer's subscriptions (Konnect invoices an event by its time,
// inside a subscription's service periods, and only those).
const (
	NoSubscription     = "no_subscription"
	BeforeSubscription = "before_subscription"
	AfterSubscription  = "subscription_ended"
	// NotPriced: the plan of the subscription active at the event's time
	// prices no feature whose meter counts the event's type.
	NotPriced = "not_priced"
)

// NotInvoicedReasons are the reasons of events_not_invoiced_total.
var NotInvoicedReasons = []string{NoSubscription, BeforeSubscription, AfterSubscription, NotPriced}

// invoicing classifies the events of one check by the subscriptions of
// their customers. It asks Konnect for a customer's subscriptions once per
// check, and remembers at most max customers: events of any more are not
// classified. Not safe for concurrent use.
type invoicing struct {
	client    *Client
	cache     *Cache
	customers []Customer
	meters    []Meter
	metersOK  bool // false: the meters could not be read
	max       int
	subs      map[string]subsOf // by customer id
	found     map[[2]string]*Finding
	cannot    []string
	// skipped counts events of customers whose subscriptions were past
	// this check's budget of reads.
	skipped int
	// The product catalog, read once a check at the first event that has
	// a subscription; catalogErr when it could not be.
	catalogRead bool
	plans       []Plan
	features    []Feature
}

type subsOf struct {
	subs []Subscription
	err  error
}

func newInvoicing(c *Client, cache *Cache, customers []Customer, meters []Meter, metersOK bool, max int) *invoicing {
	if cache == nil {
		cache = NewCache(0, 0)
	}
	return &invoicing{client: c, cache: cache, customers: customers, meters: meters, metersOK: metersOK, max: max, subs: map[string]subsOf{}, found: map[[2]string]*Finding{}}
}

// say adds what could not be checked, once.
func (iv *invoicing) say(c string) {
	if !slices.Contains(iv.cannot, c) {
		iv.cannot = append(iv.cannot, c)
	}
}

// note classifies one event of type typ, timed t, of subject.
func (iv *invoicing) note(ctx context.Context, typ, subject string, t time.Time, id string) {
	cust := CustomerOf(iv.customers, subject)
	if cust == nil {
		return // unattributed: a finding of its own
	}
	subs, ok := iv.subscriptionsOf(ctx, *cust)
	if !ok {
		return
	}
	reason, fix := notInvoiced(*cust, subs, t)
	if reason == "" {
		reason, fix = iv.notPriced(ctx, subs, typ, t)
	}
	if reason == "" {
		return
	}
	k := [2]string{subject, reason}
	f := iv.found[k]
	if f == nil {
		f = &Finding{Kind: reason, Subject: subject, Customer: cust.Key, Since: t, Until: t, Example: id, Fix: fix}
		iv.found[k] = f
	}
	f.Events++
	f.Since, f.Until = minTime(f.Since, t), maxTime(f.Until, t)
}

// subscriptionsOf are cust's subscriptions, read once a check; false when
// they could not be read (said once) or cust is past the max customers.
func (iv *invoicing) subscriptionsOf(ctx context.Context, cust Customer) ([]Subscription, bool) {
	s, ok := iv.subs[cust.ID]
	if !ok {
		if len(iv.subs) >= iv.max {
			return nil, false
		}
		if s, ok = iv.cache.subscriptions(ctx, iv.client, cust.ID); !ok {
			iv.skipped++
			return nil, false
		}
		iv.subs[cust.ID] = s
	}
	if s.err != nil {
		iv.say(cannot("subscriptions", s.err))
		return nil, false
	}
	return s.subs, true
}

// notInvoiced says why an event of cust timed t is on no invoice, and the
// fix; "" when a subscription is active at t.
func notInvoiced(cust Customer, subs []Subscription, t time.Time) (reason, fix string) {
	if _, err := ActiveAt(subs, t); err == nil {
		return "", ""
	}
	if len(subs) == 0 {
		return NoSubscription, fmt.Sprintf("customer `%s` has no subscription: its usage is metered, not invoiced. Subscribe it to a plan (Konnect: Metering & Billing → Customers → %s → Subscriptions)", cust.Key, cust.Key)
	}
	first := subs[0]
	for _, s := range subs {
		if s.ActiveFrom.Before(first.ActiveFrom) {
			first = s
		}
	}
	if t.Before(first.ActiveFrom) {
		return BeforeSubscription, fmt.Sprintf("timed before the subscription of `%s` starts (%s): Konnect invoices an event by its time, so these are metered, not invoiced. Producers' clocks, or a subscription that should have started earlier", cust.Key, first.ActiveFrom.UTC().Format(time.RFC3339))
	}
	return AfterSubscription, fmt.Sprintf("timed when no subscription of `%s` is active (it ended, or a gap between two): metered, not invoiced. Renew the subscription, or check the producers' clocks", cust.Key)
}

// notPriced says, for an event of type typ at t inside a subscription,
// when that subscription's plan prices no feature whose meter counts typ.
func (iv *invoicing) notPriced(ctx context.Context, subs []Subscription, typ string, t time.Time) (reason, fix string) {
	if !iv.metersOK || !slices.ContainsFunc(iv.meters, func(m Meter) bool { return m.EventType == typ }) {
		return "", "" // said already: no meters read, or none counts typ
	}
	if !iv.catalogRead {
		iv.catalogRead = true
		var err error
		if iv.plans, iv.features, err = iv.cache.catalog(ctx, iv.client); err != nil {
			iv.plans = nil
			iv.say(cannot("plans and features", err))
		}
	}
	if iv.plans == nil {
		return "", ""
	}
	sub, _ := ActiveAt(subs, t)
	id := sub.PlanID
	if sub.Plan != nil {
		id = sub.Plan.ID
	}
	i := slices.IndexFunc(iv.plans, func(p Plan) bool { return p.ID == id })
	if id == "" || i < 0 {
		iv.say(fmt.Sprintf("cannot check what subscription %s prices: it follows no plan Konnect lists", sub.Name))
		return "", ""
	}
	cards, err := iv.plans[i].cardsAt(sub.ActiveFrom, t)
	if err != nil {
		iv.say(err.Error())
		return "", ""
	}
	if prices(cards, iv.features, iv.meters, typ) {
		return "", ""
	}
	return NotPriced, fmt.Sprintf("plan `%s` of subscription %s prices no feature whose meter counts %s events: metered, not invoiced. Add a usage-based rate card for a feature on that meter (Konnect: Metering & Billing → Product Catalog → Plans → %s)", iv.plans[i].Key, sub.Name, typ, iv.plans[i].Key)
}

// prices reports whether a rate card of cards prices a feature whose
// meter counts events of type typ.
func prices(cards []RateCard, features []Feature, meters []Meter, typ string) bool {
	for _, rc := range cards {
		if rc.Feature == nil {
			continue
		}
		f := slices.IndexFunc(features, func(f Feature) bool { return f.ID == rc.Feature.ID && f.Meter != nil })
		if f >= 0 && slices.ContainsFunc(meters, func(m Meter) bool { return m.ID == features[f].Meter.ID && m.EventType == typ }) {
			return true
		}
	}
	return false
}

// findings are what note found, the most events first.
func (iv *invoicing) findings() []Finding {
	var out []Finding
	for _, f := range iv.found {
		out = append(out, *f)
	}
	return sortFindings(out)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Cache keeps what the billing check read of Konnect for ttl: each
// customer's subscriptions, the plans and the features. A check every
// minute then asks Konnect at most once per customer per ttl, and at most
// budget new reads of subscriptions per check; a customer past the budget
// is checked at a later one. Safe for concurrent use.
type Cache struct {
	ttl    time.Duration
	budget int

	mu      sync.Mutex
	now     func() time.Time
	subs    map[string]cachedSubs
	catRead time.Time
	plans   []Plan
	feats   []Feature
	catErr  error
	reads   int // this check's
}

type cachedSubs struct {
	subsOf
	at time.Time
}

// NewCache keeps answers for ttl (0: for one check only) and reads at
// most budget customers' subscriptions a check (0: no limit).
func NewCache(ttl time.Duration, budget int) *Cache {
	return &Cache{ttl: ttl, budget: budget, now: time.Now, subs: map[string]cachedSubs{}}
}

// startCheck opens a check's budget and forgets what is older than ttl.
func (c *Cache) startCheck() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads = 0
	for id, s := range c.subs {
		if c.now().Sub(s.at) >= c.ttl {
			delete(c.subs, id)
		}
	}
	if c.now().Sub(c.catRead) >= c.ttl {
		c.catRead, c.plans, c.feats, c.catErr = time.Time{}, nil, nil, nil
	}
}

// subscriptions are the customer's, from the cache or read now; false
// when this check's budget is spent.
func (c *Cache) subscriptions(ctx context.Context, client *Client, customerID string) (subsOf, bool) {
	c.mu.Lock()
	if s, ok := c.subs[customerID]; ok {
		c.mu.Unlock()
		return s.subsOf, true
	}
	if c.budget > 0 && c.reads >= c.budget {
		c.mu.Unlock()
		return subsOf{}, false
	}
	c.reads++
	c.mu.Unlock()
	var s subsOf
	s.subs, s.err = client.Subscriptions(ctx, customerID)
	if s.err == nil || errors.Is(s.err, ErrNoReadRights) {
		c.mu.Lock()
		c.subs[customerID] = cachedSubs{subsOf: s, at: c.now()}
		c.mu.Unlock()
	}
	return s, true
}

// catalog is the plans and features, from the cache or read now.
func (c *Cache) catalog(ctx context.Context, client *Client) ([]Plan, []Feature, error) {
	c.mu.Lock()
	if !c.catRead.IsZero() {
		defer c.mu.Unlock()
		return c.plans, c.feats, c.catErr
	}
	c.mu.Unlock()
	plans, err := client.Plans(ctx)
	var feats []Feature
	if err == nil {
		feats, err = client.Features(ctx)
	}
	if err == nil || errors.Is(err, ErrNoReadRights) {
		c.mu.Lock()
		c.catRead, c.plans, c.feats, c.catErr = c.now(), plans, feats, err
		c.mu.Unlock()
	}
	return plans, feats, err
}
