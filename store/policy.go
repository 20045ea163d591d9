package store

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DNSPolicy is the one statement of which instances DNS answers with and
// what TTL their records get. The DNS server builds its answers with it
// and Explain says why from it, so the two cannot disagree.
type DNSPolicy struct {
	// OnlyPassing leaves warning instances out of answers (-only-passing).
	OnlyPassing bool
	// PanicThreshold is the share, in [0, 1], of a service's instances
	// (those in maintenance aside) that must be healthy; below it DNS
	// answers with all of them, as Envoy's panic routing does, because
	// every instance failing at once is more often the checker's network
	// than the service (-panic-threshold). 0 turns panic mode off.
	PanicThreshold float64
	// TTL is the TTL of records of passing instances (-ttl); WarningTTL
	// that of warning instances and of every instance of a service in
	// panic mode (-warning-ttl).
	TTL, WarningTTL time.Duration
}

// Explanation says, for one service and tag, which instances DNS answers
// with now and why the others are left out.
type Explanation struct {
	Service string
	// Instances are sorted by ID.
	Instances []InstanceExplanation
	// Panic says the service is in panic mode.
	Panic bool
}

// InstanceExplanation is what DNS does with one instance now.
type InstanceExplanation struct {
	ID    string
	InDNS bool
	// Reasons are sentences: why the instance is not in DNS or, when it
	// is, what is notable about it (a warning check, panic mode, a host
	// name for an address). Empty when it is in DNS and nothing is.
	Reasons []string
	// TTL is the TTL its records get now, in whole seconds as they carry
	// it; zero when it is not in DNS.
	TTL time.Duration
	// TTLCaps say where TTL comes from: the configured TTL that applies
	// first, then every limit below it (check intervals, TTL-check
	// deadlines).
	TTLCaps []string
}

// ServiceCounts counts a service's instances by health. Those in
// maintenance mode are counted in Maintenance and, since maintenance is
// a critical check, in Critical too.
type ServiceCounts struct {
	Passing, Warning, Critical, Maintenance int
}

// Counts returns the service's instances counted by health; it costs the
// same however many instances the service has.
func (s *Service) Counts() ServiceCounts { return s.counts }

func (c *ServiceCounts) add(in *Instance, n int) {
	switch in.Health {
	case Passing:
		c.Passing += n
	case Warning:
		c.Warning += n
	default:
		c.Critical += n
	}
	if in.Maintenance() != nil {
		c.Maintenance += n
	}
}

// Maintenance returns the check maintenance mode added to the instance,
// or nil when it is not in maintenance.
func (in *Instance) Maintenance() *Check {
	for _, c := range in.Checks {
		if c.Kind == KindMaintenance {
			return c
		}
	}
	return nil
}

// InPanic reports whether svc is in panic mode: fewer than
// PanicThreshold of its instances not in maintenance are healthy
// (passing, or warning unless OnlyPassing). It costs the same however
// many instances the service has.
func (p DNSPolicy) InPanic(svc *Service) bool {
	healthy, total := p.healthyOf(svc)
	return p.PanicThreshold > 0 && total > 0 && float64(healthy) < p.PanicThreshold*float64(total)
}

// healthyOf counts the healthy instances of svc and those not in
// maintenance.
func (p DNSPolicy) healthyOf(svc *Service) (healthy, total int) {
	if svc == nil {
		return 0, 0
	}
	c := svc.counts
	healthy = c.Passing
	if !p.OnlyPassing {
		healthy += c.Warning
	}
	return healthy, len(svc.Instances) - c.Maintenance
}

// PanicServices returns the sorted names of the services in panic mode in
// snap. It reads each service once, without sorting the others.
func (p DNSPolicy) PanicServices(snap *Snapshot) []string {
	if p.PanicThreshold <= 0 {
		return nil
	}
	var out []string
	for name, svc := range snap.services.all() {
		if p.InPanic(svc) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Includes reports whether DNS answers for tag ("" for any) include in,
// where panic is InPanic of its service: a healthy instance always, and
// in panic mode every one not in maintenance.
func (p DNSPolicy) Includes(in *Instance, tag string, panicking bool) bool {
	return p.healthAdmits(in, panicking) && (tag == "" || in.HasTag(tag))
}

func (p DNSPolicy) healthAdmits(in *Instance, panicking bool) bool {
	switch in.Health {
	case Passing:
		return true
	case Warning:
		return panicking || !p.OnlyPassing
	}
	return panicking && in.Maintenance() == nil
}

// minTTLLeft is the floor of a TTL capped by a TTL check about to expire:
// a zero TTL would tell resolvers not to cache at all.
const minTTLLeft = time.Second

// InstanceTTL returns the TTL of a record of in at now, so that no
// resolver caches an instance longer than beacon would take to notice it
// failing (DESIGN.md, "TTLs follow health"): TTL, or WarningTTL for a
// warning instance and in panic mode; at most the interval of each HTTP
// and TCP check; at most the time left (at least a second) before each
// TTL check that is not critical yet expires. It also returns the
// earliest of those deadlines (zero if none): a TTL of S seconds holds
// until that deadline minus S, which bounds how long an answer may be
// reused.
func (p DNSPolicy) InstanceTTL(in *Instance, now time.Time, panicking bool) (time.Duration, time.Time) {
	return p.instanceTTL(in, now, panicking, nil)
}

// instanceTTL is InstanceTTL, appending to caps, when not nil, a sentence
// for the TTL that applies and each limit below it.
func (p DNSPolicy) instanceTTL(in *Instance, now time.Time, panicking bool, caps *[]string) (time.Duration, time.Time) {
	ttl := p.TTL
	switch {
	case panicking:
		ttl = p.WarningTTL
	case in.Health == Warning:
		ttl = p.WarningTTL
	}
	base := ttl
	if caps != nil {
		*caps = append(*caps, baseCap(p, in, panicking))
	}
	var deadline time.Time
	for _, c := range in.Checks {
		switch c.Kind {
		case KindHTTP, KindTCP:
			if c.Interval > 0 && c.Interval < base && caps != nil {
				*caps = append(*caps, fmt.Sprintf("interval %s of check %q", c.Interval, c.ID))
			}
			if c.Interval > 0 && c.Interval < ttl {
				ttl = c.Interval
			}
		case KindTTL:
			// A critical TTL check has nothing left to expire: capping
			// by its past deadline would only keep a panic-mode answer
			// from being reused.
			if c.TTL <= 0 || c.Status == Critical {
				continue
			}
			d := c.TTLDeadline()
			left := max(d.Sub(now), minTTLLeft)
			if left < base && caps != nil {
				*caps = append(*caps, fmt.Sprintf("TTL check %q expires in %s unless it is reported (at %s)", c.ID, left.Truncate(time.Second), d.UTC().Format(time.RFC3339)))
			}
			if left < ttl {
				ttl = left
			}
			if deadline.IsZero() || d.Before(deadline) {
				deadline = d
			}
		}
	}
	return ttl, deadline
}

func baseCap(p DNSPolicy, in *Instance, panicking bool) string {
	switch {
	case panicking:
		return fmt.Sprintf("-warning-ttl %s: the service is in panic mode", p.WarningTTL)
	case in.Health == Warning:
		return fmt.Sprintf("-warning-ttl %s: the instance is warning", p.WarningTTL)
	}
	return fmt.Sprintf("-ttl %s: the instance is passing", p.TTL)
}

// maxRecordTTL is the largest TTL a record can carry (RFC 2181 section 8).
const maxRecordTTL = time.Duration(math.MaxInt32) * time.Second

// TTLSeconds converts a TTL to the whole seconds a record carries,
// rounding down so a resolver never caches longer than the policy allows,
// but never below one second.
func TTLSeconds(d time.Duration) uint32 {
	if d < time.Second {
		return 1
	}
	if d > maxRecordTTL {
		d = maxRecordTTL
	}
	return uint32(d / time.Second)
}

// Explain says, for every instance of svc, whether DNS answers for tag
// ("" for any) include it at now and why not, and what caps its TTL. It
// decides with Includes and InstanceTTL, as DNS answers do.
func (p DNSPolicy) Explain(svc *Service, tag string, now time.Time) Explanation {
	if svc == nil {
		return Explanation{}
	}
	panicking := p.InPanic(svc)
	e := Explanation{Service: svc.Name, Panic: panicking, Instances: make([]InstanceExplanation, 0, len(svc.Instances))}
	for _, in := range svc.Instances {
		x := InstanceExplanation{ID: in.ID, InDNS: p.Includes(in, tag, panicking)}
		x.Reasons = p.reasons(svc, in, tag, panicking, x.InDNS)
		if x.InDNS {
			ttl, _ := p.instanceTTL(in, now, panicking, &x.TTLCaps)
			x.TTL = time.Duration(TTLSeconds(ttl)) * time.Second
		}
		e.Instances = append(e.Instances, x)
	}
	return e
}

// reasons gives the sentences of an instance's explanation.
func (p DNSPolicy) reasons(svc *Service, in *Instance, tag string, panicking, inDNS bool) []string {
	var out []string
	if m := in.Maintenance(); m != nil {
		out = append(out, fmt.Sprintf("it is in maintenance mode since %s: %s", stamp(m.StatusSince), m.Notes))
	}
	for _, c := range in.Checks {
		switch {
		case c.Kind == KindMaintenance:
		case c.Status == Critical:
			out = append(out, fmt.Sprintf("check %q is critical since %s%s", c.ID, stamp(c.StatusSince), outputOf(c)))
		case c.Status == Warning && p.OnlyPassing:
			out = append(out, fmt.Sprintf("check %q is warning since %s and -only-passing leaves warning instances out%s", c.ID, stamp(c.StatusSince), outputOf(c)))
		case c.Status == Warning:
			out = append(out, fmt.Sprintf("check %q is warning since %s, so its SRV record has priority 2 and weight %d%s", c.ID, stamp(c.StatusSince), in.Weights.Warning, outputOf(c)))
		}
	}
	if tag != "" && !in.HasTag(tag) {
		out = append(out, fmt.Sprintf("it does not carry the tag %q asked for", tag))
	}
	if panicking && p.healthAdmits(in, true) && !p.healthAdmits(in, false) {
		healthy, total := p.healthyOf(svc)
		out = append(out, fmt.Sprintf("the service is in panic mode (%d of %d instances not in maintenance are healthy, below -panic-threshold %s), so DNS answers with every instance not in maintenance, this one included",
			healthy, total, strconv.FormatFloat(p.PanicThreshold, 'g', -1, 64)))
	}
	if inDNS && !in.Addr.IsValid() {
		out = append(out, fmt.Sprintf("its address %q is a host name: SRV answers name it as their target, A and AAAA answers leave it out", in.Address))
	}
	return out
}

// outputOf is a check's output as the end of a sentence, or nothing.
func outputOf(c *Check) string {
	out := strings.TrimSpace(c.Output)
	if out == "" {
		return ""
	}
	return ": " + out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}
