package sandbox

import (
	"maps"
	"slices"
	"time"
)

// Meter is a meter the sandbox counts events with, like one created in
// Konnect: Aggregation is count, sum, avg, min, max, unique_count or
// latest; ValueProperty and Dimensions are JSONPaths on the event's data.
type Meter struct {
	Key, Name, EventType, Aggregation, ValueProperty string
	Dimensions                                       map[string]string
}

// Customer is a customer the sandbox attributes usage to by the events'
// subject, like one created in Konnect.
type Customer struct {
	Key, Name   string
	SubjectKeys []string
}

// GuideMeter and GuideCustomer are the seed guide's: a count of agent_run
// events by agent_name, billed to acme-inc.
var (
	GuideMeter    = Meter{Key: "agent_runs", Name: "Agent runs", EventType: "agent_run", Aggregation: "count", Dimensions: map[string]string{"agent_name": "$.agent_name"}}
	GuideCustomer = Customer{Key: "acme-inc", Name: "ACME Inc.", SubjectKeys: []string{"acme-inc"}}
)

// billing is what the read API serves besides the events.
type billing struct {
	created       time.Time
	made          int // resources made so far, which numbers their ids
	meters        []meter
	customers     []customer
	features      []feature
	plans         []plan
	subscriptions []subscription
	noRead        bool // the token may ingest but not read
}

type meter struct {
	Meter
	id string
}

type customer struct {
	Customer
	id string
}

// WithMeter adds a meter, as if created in Konnect.
func WithMeter(m Meter) Option {
	return func(s *Sandbox) { s.AddMeter(m) }
}

// WithCustomer adds a customer, as if created in Konnect.
func WithCustomer(c Customer) Option {
	return func(s *Sandbox) { s.AddCustomer(c) }
}

// WithGuide adds the guide's meter, customer, feature and plan, and
// subscribes the customer to the plan from when the sandbox started (dev
// mode starts with them).
func WithGuide() Option {
	return func(s *Sandbox) {
		s.AddMeter(GuideMeter)
		s.AddCustomer(GuideCustomer)
		WithFeature(GuideFeature)(s)
		WithPlan(GuidePlan)(s)
		WithSubscription(GuideSubscription)(s)
	}
}

// WithStarted says the sandbox's state began at t, as for one kept across
// restarts: its resources were created then and a subscription without
// ActiveFrom (the guide's) is active from t. A caller that keeps the
// sandbox's state passes the first start's Started on every restart, so
// that the service periods stay where they were. The sandbox itself keeps
// nothing across restarts, its events included.
func WithStarted(t time.Time) Option {
	return func(s *Sandbox) { s.billing.created = t.UTC().Truncate(time.Second) }
}

// Started is when the sandbox's state began: when it was made, or as
// WithStarted said.
func (s *Sandbox) Started() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.billing.created
}

// AddMeter adds a meter, as if created in Konnect.
func (s *Sandbox) AddMeter(m Meter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Dimensions = maps.Clone(m.Dimensions)
	s.billing.meters = append(s.billing.meters, meter{Meter: m, id: s.newID()})
}

// AddCustomer adds a customer, as if created in Konnect.
func (s *Sandbox) AddCustomer(c Customer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.SubjectKeys = slices.Clone(c.SubjectKeys)
	s.billing.customers = append(s.billing.customers, customer{Customer: c, id: s.newID()})
}

// SetReadRights says whether the token may read (meters, customers,
// events, usage, the product catalog, subscriptions and charges); without,
// those answer 403 while ingest goes on.
func (s *Sandbox) SetReadRights(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.billing.noRead = !ok
}

// newID is the next resource's ULID-shaped id; s.mu must be held.
func (s *Sandbox) newID() string {
	s.billing.made++
	return sandboxID('X', s.billing.made)
}

// sandboxID is a ULID-shaped id of a kind ('X' a resource, 'P' a
// subscription's phase, 'T' its item, 'C' a charge) made of parts, three
// base-32 digits each.
func sandboxID(kind byte, parts ...int) string {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	id := []byte("01KBR1DGESANDBX00000000000")
	id[14] = kind
	i := len(id) - 1
	for p := len(parts) - 1; p >= 0; p-- {
		for n, d := parts[p], 0; d < 3; d++ {
			id[i] = crockford[n%32]
			n /= 32
			i--
		}
	}
	return string(id)
}

// snapshot is the billing state and events at one moment.
func (s *Sandbox) snapshot() (billing, []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.billing
	b.meters, b.customers = slices.Clone(b.meters), slices.Clone(b.customers)
	b.features, b.plans, b.subscriptions = slices.Clone(b.features), slices.Clone(b.plans), slices.Clone(b.subscriptions)
	return b, slices.Clone(last(s.events, s.keep))
}

// customerOf is the customer a subject's usage is attributed to, or nil:
// the one whose key is the subject, else one listing it as a subject key.
func (b billing) customerOf(subject string) *customer {
	for i, c := range b.customers {
		if c.Key == subject {
			return &b.customers[i]
		}
	}
	for i, c := range b.customers {
		if slices.Contains(c.SubjectKeys, subject) {
			return &b.customers[i]
		}
	}
	return nil
}
