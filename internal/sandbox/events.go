package sandbox

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// storedEvent is an event as list-metering-events shows it (the spec's
// MeteringIngestedEvent).
type storedEvent struct {
	Event            json.RawMessage   `json:"event"`
	Customer         *idRef            `json:"customer,omitempty"`
	IngestedAt       time.Time         `json:"ingested_at"`
	StoredAt         time.Time         `json:"stored_at"`
	ValidationErrors []validationError `json:"validation_errors,omitempty"`

	key  string    // the cursor of this event
	time time.Time // the event's time, else when it was stored
	e    Event
}

// idRef is a reference by id (a customer, meter or feature).
type idRef struct {
	ID string `json:"id"`
}

type validationError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// eventFilters are the filters of list-metering-events.
var eventFilters = map[string]bool{"id": true, "source": true, "subject": true, "type": true, "customer_id": true, "time": true, "ingested_at": true, "stored_at": true}

// listEvents answers list-metering-events: the stored events with their
// customer and validation errors, newest first unless sorted otherwise,
// in cursor pages.
func (s *Sandbox) listEvents(w http.ResponseWriter, r *http.Request) *problem {
	page, conds, p := s.parseQuery(r.URL.Query(), eventFilters, "size", "after", "before")
	if p != nil {
		return p
	}
	size, p := s.pageSize(page)
	if p != nil {
		return p
	}
	b, events := s.snapshot()
	var list []storedEvent
	for _, e := range events {
		se := b.describe(e)
		ok, p := s.matchEvent(conds, se)
		if p != nil {
			return p
		}
		if ok {
			list = append(list, se)
		}
	}
	field, desc := sortOrder(r.URL.Query().Get("sort"))
	slices.SortStableFunc(list, func(a, b storedEvent) int {
		c := cmp.Compare(a.sortTime(field).UnixNano(), b.sortTime(field).UnixNano())
		if desc {
			c = -c
		}
		return c
	})
	start := 0
	if after, ok := page["after"]; ok {
		i := slices.IndexFunc(list, func(se storedEvent) bool { return se.key == after })
		if i < 0 {
			return s.badQuery("page[after]", "is not a cursor this list gave")
		}
		start = i + 1
	}
	end := min(start+size, len(list))
	var next *string
	if end < len(list) {
		n := "/openmeter/events?page[after]=" + list[end-1].key + "&page[size]=" + r.URL.Query().Get("page[size]")
		n = strings.TrimSuffix(n, "&page[size]=")
		next = &n
	}
	body := struct {
		Data []storedEvent `json:"data"`
		Meta struct {
			Page struct {
				Size     int     `json:"size"`
				Next     *string `json:"next"`
				Previous *string `json:"previous"`
			} `json:"page"`
		} `json:"meta"`
	}{Data: list[start:end:end]}
	if body.Data == nil {
		body.Data = []storedEvent{}
	}
	body.Meta.Page.Size, body.Meta.Page.Next = size, next
	return writeOK(w, body)
}

// describe adds what processing would record to a stored event: its
// customer by subject, and a validation error when no meter counts its
// type or a meter's value_property gives no value.
func (b billing) describe(e Event) storedEvent {
	se := storedEvent{Event: e.Raw, IngestedAt: e.Stored, StoredAt: e.Stored, e: e, time: e.Stored}
	se.key = base64.RawURLEncoding.EncodeToString([]byte(e.Source + "\x00" + e.ID))
	if t, err := time.Parse(time.RFC3339, e.Time); err == nil {
		se.time = t
	}
	if c := b.customerOf(e.Subject); c != nil {
		se.Customer = &idRef{ID: c.id}
	}
	metered := false
	for _, m := range b.meters {
		if m.EventType != e.Type {
			continue
		}
		metered = true
		if _, ok := m.value(e.Data); !ok {
			se.ValidationErrors = append(se.ValidationErrors, validationError{Code: "invalid_value_property",
				Message: "meter " + m.Key + ": value_property " + m.ValueProperty + " gives no number on the event's data"})
		}
	}
	if !metered {
		se.ValidationErrors = append(se.ValidationErrors, validationError{Code: "meter_not_found", Message: "no meter counts event type " + e.Type})
	}
	return se
}

func (se storedEvent) sortTime(field string) time.Time {
	if field == "time" {
		return se.time
	}
	return se.StoredAt
}

// sortOrder reads sort: time (the default), ingested_at or stored_at, then
// asc or desc (the default).
func sortOrder(sort string) (field string, desc bool) {
	field, dir, _ := strings.Cut(strings.TrimSpace(sort), " ")
	if field == "" {
		field = "time"
	}
	return field, dir != "asc"
}

// matchEvent applies every filter to one event.
func (s *Sandbox) matchEvent(conds []condition, se storedEvent) (bool, *problem) {
	for _, c := range conds {
		var ok bool
		var err error
		switch c.field {
		case "id":
			ok = matchString(c, se.e.ID)
		case "source":
			ok = matchString(c, se.e.Source)
		case "subject":
			ok = matchString(c, se.e.Subject)
		case "type":
			ok = matchString(c, se.e.Type)
		case "customer_id":
			ok = se.Customer != nil && matchString(c, se.Customer.ID)
		case "time":
			ok, err = matchTime(c, se.time)
		default: // ingested_at, stored_at
			ok, err = matchTime(c, se.StoredAt)
		}
		if err != nil {
			return false, s.badQuery("filter["+c.field+"]", "must be an RFC 3339 date-time")
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
