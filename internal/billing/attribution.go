package billing

// Attribution is Konnect's one rule for whose usage an event is: the
// event's subject equals a customer's key, or exactly one of the subject
// keys of its usage attribution. Every command that says which customer an
// event is billed to (check, reconcile, usage, invoice) asks this.

// Attributes reports whether events of subject are billed to c.
func (c Customer) Attributes(subject string) bool {
	if subject == "" {
		return false
	}
	if c.Key == subject {
		return true
	}
	for _, k := range c.SubjectKeys() {
		if k == subject {
			return true
		}
	}
	return false
}

// CustomerOf is the customer of customers billed for subject, nil when
// none is. A customer whose key is the subject wins over one that lists it
// as a subject key, as a lookup by key finds it first.
func CustomerOf(customers []Customer, subject string) *Customer {
	for i := range customers {
		if customers[i].Key == subject && subject != "" {
			return &customers[i]
		}
	}
	for i := range customers {
		if customers[i].Attributes(subject) {
			return &customers[i]
		}
	}
	return nil
}
