package store

import (
	"net/netip"
	"reflect"
	"time"
)

// Status is the health of a check or an instance.
type Status string

// The three statuses, from best to worst.
const (
	Passing  Status = "passing"
	Warning  Status = "warning"
	Critical Status = "critical"
)

// Rank orders statuses so that the worst one wins: 0 for passing, 1 for
// warning, 2 for critical and for anything that is not a status. It is
// the one place that ranks statuses.
func (s Status) Rank() int {
	switch s {
	case Passing:
		return 0
	case Warning:
		return 1
	default:
		return 2
	}
}

// Valid reports whether s is one of the three statuses.
func (s Status) Valid() bool { return s == Passing || s == Warning || s == Critical }

// Worse returns the worse of s and o.
func (s Status) Worse(o Status) Status {
	if o.Rank() > s.Rank() {
		return o
	}
	return s
}

// Kind is the kind of a check.
type Kind string

// Check kinds. KindMaintenance marks the check that maintenance mode adds;
// nothing runs it, it is critical until removed.
const (
	KindHTTP        Kind = "http"
	KindTCP         Kind = "tcp"
	KindTTL         Kind = "ttl"
	KindMaintenance Kind = "maintenance"
)

// Weights are the SRV weights of an instance by its health.
type Weights struct {
	Passing int
	Warning int
}

// ServiceAddress is one of an instance's tagged addresses (Consul's
// structs.ServiceAddress).
type ServiceAddress struct {
	Address string
	Port    int
}

// Locality is where an instance runs (Consul's structs.Locality).
type Locality struct {
	Region string
	Zone   string
}

// Instance is one registered instance of a service (Consul: a service
// instance). Values reachable from a Snapshot are immutable: never modify
// one, and never keep a modified copy in the store.
type Instance struct {
	ID   string
	Name string // service name, lower-case
	// Address is the address DNS answers with: an IP literal or a
	// hostname, never empty. For a registration without one it is the
	// advertise address, and NoAddress is set.
	Address string
	// NoAddress records that the registration gave no Address; API
	// answers then show "", as Consul's do.
	NoAddress bool
	// Addr is Address parsed; invalid for a hostname.
	Addr    netip.Addr
	Port    int
	Tags    []string
	Meta    map[string]string
	Weights Weights
	// TaggedAddresses are the ones the registration gave, by tag; nil
	// for none.
	TaggedAddresses map[string]ServiceAddress
	// EnableTagOverride and Locality are kept for Consul's clients;
	// beacon has no anti-entropy that would read them.
	EnableTagOverride bool
	Locality          *Locality
	// Checks are sorted by ID.
	Checks []*Check

	CreateIndex uint64
	ModifyIndex uint64

	// Health is the worst status of Checks, or Passing with none.
	Health Status
}

// HasTag reports whether the instance carries tag, compared
// case-insensitively as DNS names are.
func (in *Instance) HasTag(tag string) bool {
	for _, t := range in.Tags {
		if equalFold(t, tag) {
			return true
		}
	}
	return false
}

// sameInstance reports whether a re-registration b changes nothing of a,
// indexes aside.
func sameInstance(a, b *Instance) bool {
	x, y := *a, *b
	x.CreateIndex, x.ModifyIndex, x.Checks, x.Health = 0, 0, nil, ""
	y.CreateIndex, y.ModifyIndex, y.Checks, y.Health = 0, 0, nil, ""
	if !reflect.DeepEqual(x, y) || len(a.Checks) != len(b.Checks) {
		return false
	}
	for i := range a.Checks {
		c, d := *a.Checks[i], *b.Checks[i]
		c.CreateIndex, c.ModifyIndex, c.statusGiven = 0, 0, false
		d.CreateIndex, d.ModifyIndex, d.statusGiven = 0, 0, false
		if !reflect.DeepEqual(c, d) {
			return false
		}
	}
	return true
}

// Check is a health check of one instance.
type Check struct {
	ID        string
	Name      string
	Notes     string
	ServiceID string
	Kind      Kind

	// HTTP check parameters.
	HTTP          string
	Method        string
	Header        map[string][]string
	Body          string
	TLSSkipVerify bool
	// TCP check target, host:port.
	TCP string
	// TTL of a TTL check.
	TTL time.Duration

	// Interval of HTTP and TCP checks; at least one second.
	Interval time.Duration
	// Timeout of HTTP and TCP checks; at most Interval.
	Timeout time.Duration

	SuccessBeforePassing           int
	FailuresBeforeCritical         int
	DeregisterCriticalServiceAfter time.Duration

	Status Status
	Output string
	// StatusSince is when Status last changed.
	StatusSince time.Time
	// Heartbeat is the last report of a TTL check; at start every TTL
	// check gets a fresh one, so a full TTL.
	Heartbeat time.Time

	CreateIndex uint64
	ModifyIndex uint64

	// statusGiven records that a registration asked for Status itself,
	// so a re-registration does not keep the old status.
	statusGiven bool
}

// TTLDeadline is when a TTL check turns critical without a new report.
func (c *Check) TTLDeadline() time.Time { return c.Heartbeat.Add(c.TTL) }

// Node describes the one node this store runs on.
type Node struct {
	Name       string
	ID         string // a UUID kept in the database
	Datacenter string
	Address    string
}

// Registration is a request to register or replace an instance.
type Registration struct {
	ID   string
	Name string
	// Address is the instance's address; "" means the advertise address.
	Address string
	Port    int
	Tags    []string
	Meta    map[string]string
	// Weights default to {1, 1} when nil.
	Weights           *Weights
	TaggedAddresses   map[string]ServiceAddress
	EnableTagOverride bool
	Locality          *Locality
	Checks            []CheckSpec
	// ReplaceExistingChecks drops checks of an existing instance that
	// the registration does not name; otherwise they are kept.
	ReplaceExistingChecks bool
}

// CheckSpec is a requested check, on registration or on its own.
type CheckSpec struct {
	ID        string
	Name      string
	Notes     string
	ServiceID string

	HTTP          string
	Method        string
	Header        map[string][]string
	Body          string
	TLSSkipVerify bool
	TCP           string
	TTL           time.Duration

	Interval time.Duration
	Timeout  time.Duration

	// Status is the initial status; critical when empty.
	Status                         Status
	Output                         string
	SuccessBeforePassing           int
	FailuresBeforeCritical         int
	DeregisterCriticalServiceAfter time.Duration
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
