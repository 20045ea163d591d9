package admin

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// decoded is a registration read from a request body.
type decoded struct {
	reg store.Registration
	// single is set when the body used "Check" (one check), which then
	// comes first in reg.Checks, as in Consul.
	single bool
	// unknown lists fields beacon does not know; like Consul it ignores
	// them, and says so in a Warning header.
	unknown []string
	// unused lists fields beacon knows and accepts but does nothing
	// with (Consul's read-only fields, sent back by clients that
	// register what they read); the Warning header names them too.
	unused []string
}

// unsupportedService lists service fields that ask for something beacon
// does not do. They are refused (400) when set, rather than dropped.
var unsupportedService = []struct{ name, why string }{
	{"Connect", "Consul Connect (service mesh) is not supported"},
	{"Proxy", "Consul Connect proxies are not supported"},
	{"SocketPath", "unix socket services are not supported; register an address and port"},
	{"Ports", "named ports are not supported; register one Port per instance"},
}

// unsupportedCheck lists check fields beacon refuses when set, with why.
var unsupportedCheck = []struct{ name, why string }{
	{"ScriptArgs", "script checks are not supported"},
	{"Args", "script checks are not supported"},
	{"Script", "script checks are not supported"},
	{"DockerContainerID", "Docker checks are not supported"},
	{"Shell", "Docker and script checks are not supported"},
	{"GRPC", "gRPC checks are not supported"},
	{"GRPCUseTLS", "gRPC checks are not supported"},
	{"H2PING", "H2PING checks are not supported"},
	{"H2PingUseTLS", "H2PING checks are not supported"},
	{"UDP", "UDP checks are not supported"},
	{"OSService", "OS service checks are not supported"},
	{"AliasNode", "alias checks are not supported"},
	{"AliasService", "alias checks are not supported"},
	{"TCPUseTLS", "TLS on TCP checks is not supported; use an https:// HTTP check"},
	{"TLSServerName", "setting the TLS server name is not supported; the URL's host is verified"},
	{"DisableRedirects", "HTTP checks always follow redirects"},
	{"FailuresBeforeWarning", "checks go from passing to critical; use FailuresBeforeCritical"},
}

// supportedChecks ends every refusal of a check feature.
const supportedChecks = "beacon runs HTTP, TCP and TTL checks"

// decodeRegistration reads Consul's service registration body: PascalCase
// or snake_case field names, Check and Checks (merged, Check first).
func decodeRegistration(v any) (*decoded, error) {
	o, err := asObject(v, "body", "")
	if err != nil {
		return nil, err
	}
	d := &decoded{}
	r := &d.reg
	r.ID, r.Name, r.Address = o.str("ID"), o.str("Name"), o.str("Address")
	r.Port, r.Tags, r.Meta = o.integer("Port"), o.strings("Tags"), o.stringMap("Meta")
	r.EnableTagOverride = o.boolean("EnableTagOverride")
	if o.err != nil {
		return nil, o.err
	}
	if a, err := netip.ParseAddr(r.Address); err == nil && a.IsUnspecified() {
		// Consul refuses it too (AgentRegisterService, ipaddr.IsAny).
		return nil, badRequest("Address: %s is the unspecified address, which no client can connect to; give the instance's own address, or leave Address out", quote(r.Address))
	}
	if r.Weights, err = decodeWeights(o); err != nil {
		return nil, err
	}
	if r.TaggedAddresses, d.unknown, err = decodeTaggedAddresses(o); err != nil {
		return nil, err
	}
	var locUnknown []string
	if r.Locality, locUnknown, err = decodeLocality(o); err != nil {
		return nil, err
	}
	d.unknown = append(d.unknown, locUnknown...)
	if d.unused, err = refuseServiceExtras(o); err != nil {
		return nil, err
	}
	var unknown, unused []string
	if r.Checks, d.single, unknown, unused, err = decodeServiceChecks(o); err != nil {
		return nil, err
	}
	d.unknown = append(append(o.unknown(), d.unknown...), unknown...)
	d.unused = append(d.unused, unused...)
	return d, nil
}

// decodeTaggedAddresses reads TaggedAddresses, an object of {Address,
// Port} objects whose keys (lan, wan, lan_ipv4, …) are kept as given.
// It also returns the unknown fields of its entries.
func decodeTaggedAddresses(o *object) (map[string]store.ServiceAddress, []string, error) {
	f, ok := o.take("TaggedAddresses")
	if !ok {
		return nil, nil, nil
	}
	m, isMap := f.val.(map[string]any)
	if !isMap {
		return nil, nil, badRequest("TaggedAddresses: must be an object of {\"Address\", \"Port\"} objects, not %s", kindOf(f.val))
	}
	if len(m) > store.MaxTaggedAddresses {
		return nil, nil, badRequest("TaggedAddresses: has %d entries; at most %d are allowed", len(m), store.MaxTaggedAddresses)
	}
	out := make(map[string]store.ServiceAddress, len(m))
	var unknown []string
	for k, v := range m {
		name := "TaggedAddresses[" + quote(k) + "]"
		sa, err := asObject(v, name, name+".")
		if err != nil {
			return nil, nil, err
		}
		out[k] = store.ServiceAddress{Address: sa.str("Address"), Port: sa.integer("Port")}
		if sa.err != nil {
			return nil, nil, sa.err
		}
		unknown = append(unknown, sa.unknown()...)
	}
	slices.Sort(unknown)
	return out, unknown, nil
}

// decodeLocality reads Locality, {Region, Zone}, and its unknown fields.
func decodeLocality(o *object) (*store.Locality, []string, error) {
	f, ok := o.take("Locality")
	if !ok {
		return nil, nil, nil
	}
	l, err := asObject(f.val, "Locality", "Locality.")
	if err != nil {
		return nil, nil, err
	}
	out := &store.Locality{Region: l.str("Region"), Zone: l.str("Zone")}
	return out, l.unknown(), l.err
}

// decodeWeights reads Weights. A field left out is 0, as when Consul
// decodes into structs.Weights; Weights.Passing 0 is then refused, as
// Consul refuses it.
func decodeWeights(o *object) (*store.Weights, error) {
	f, ok := o.take("Weights")
	if !ok {
		return nil, nil
	}
	w, err := asObject(f.val, "Weights", "Weights.")
	if err != nil {
		return nil, err
	}
	out := &store.Weights{Passing: w.integer("Passing"), Warning: w.integer("Warning")}
	return out, w.err
}

// refuseServiceExtras checks the fields Consul has and beacon does not
// serve. Kind must be a typical service; Namespace and Partition must be
// the default ones. It returns the read-only fields of Consul's answers
// that were sent with a value: accepted, and named as unused.
func refuseServiceExtras(o *object) ([]string, error) {
	for _, u := range unsupportedService {
		if f, ok := o.take(u.name); ok && present(f.val) {
			return nil, badRequest("%s: %s", u.name, u.why)
		}
	}
	kind, ns, part := o.str("Kind"), o.str("Namespace"), o.str("Partition")
	switch {
	case o.err != nil:
		return nil, o.err
	case kind != "" && kind != "typical":
		return nil, badRequest("Kind: %s is not supported; beacon registers typical services only (leave Kind out)", quote(kind))
	case ns != "" && ns != "default":
		return nil, badRequest("Namespace: %s is not supported; beacon has only the default namespace", quote(ns))
	case part != "" && part != "default":
		return nil, badRequest("Partition: %s is not supported; beacon has only the default partition", quote(part))
	}
	return o.takeUnused("", "Datacenter", "CreateIndex", "ModifyIndex", "ContentHash"), nil
}

// takeUnused takes the named fields and returns those sent with a value,
// prefixed with path, for the Warning header.
func (o *object) takeUnused(path string, names ...string) []string {
	var out []string
	for _, name := range names {
		if f, ok := o.take(name); ok && present(f.val) {
			out = append(out, path+f.key)
		}
	}
	return out
}

// decodeServiceChecks merges Check and Checks, Check first, as Consul
// does. It also returns the checks' unknown and unused fields.
func decodeServiceChecks(o *object) (specs []store.CheckSpec, single bool, unknown, unused []string, err error) {
	var objs []*object
	if f, ok := o.take("Check"); ok {
		c, err := asObject(f.val, "Check", "Check.")
		if err != nil {
			return nil, false, nil, nil, err
		}
		objs, single = append(objs, c), true
	}
	if f, ok := o.take("Checks"); ok {
		list, isList := f.val.([]any)
		if !isList {
			return nil, false, nil, nil, badRequest("Checks: must be a list of check objects, not %s", kindOf(f.val))
		}
		if len(list)+len(objs) > store.MaxChecks {
			return nil, false, nil, nil, badRequest("Checks: has %d checks; at most %d are allowed", len(list)+len(objs), store.MaxChecks)
		}
		for i, v := range list {
			name := "Checks[" + strconv.Itoa(i) + "]"
			c, err := asObject(v, name, name+".")
			if err != nil {
				return nil, false, nil, nil, err
			}
			objs = append(objs, c)
		}
	}
	for i, c := range objs {
		spec, cu, err := decodeCheck(c)
		if err != nil {
			return nil, false, nil, nil, err
		}
		unknown = append(unknown, c.unknown()...)
		unused = append(unused, cu...)
		if i == 0 && single && reflect.ValueOf(spec).IsZero() {
			// A Check that decodes to nothing is no check, as in Consul's
			// ServiceDefinition.CheckTypes; an empty one in Checks is
			// refused there and here.
			single = false
			continue
		}
		specs = append(specs, spec)
	}
	return specs, single, unknown, unused, nil
}

// decodeCheck reads one check definition, of a service registration or of
// PUT /v1/agent/check/register. It also returns the fields it accepted
// and does nothing with.
func decodeCheck(o *object) (store.CheckSpec, []string, error) {
	for _, u := range unsupportedCheck {
		if f, ok := o.take(u.name); ok && present(f.val) {
			return store.CheckSpec{}, nil, badRequest("%s%s: %s; %s", o.path, u.name, u.why, supportedChecks)
		}
	}
	id, err := checkID(o)
	if err != nil {
		return store.CheckSpec{}, nil, err
	}
	s := store.CheckSpec{
		ID: id, Name: o.str("Name"), Notes: o.str("Notes"), ServiceID: o.str("ServiceID"),
		HTTP: o.str("HTTP"), Method: o.str("Method"), Body: o.str("Body"), TCP: o.str("TCP"),
		Output: o.str("Output"), Status: store.Status(o.str("Status")),
		Header: o.headers("Header"), TLSSkipVerify: o.boolean("TLSSkipVerify"),
		TTL: o.duration("TTL"), Interval: o.duration("Interval"), Timeout: o.duration("Timeout"),
		DeregisterCriticalServiceAfter: o.duration("DeregisterCriticalServiceAfter"),
		SuccessBeforePassing:           o.integer("SuccessBeforePassing"),
		FailuresBeforeCritical:         o.integer("FailuresBeforeCritical"),
	}
	// OutputMaxSize is accepted; output is always kept to 4 KiB, which
	// is also Consul's default. The others are Consul's read-only
	// fields, sent back by clients that registered what they had read.
	var unused []string
	if n := o.integer("OutputMaxSize"); n != 0 && n != store.MaxOutputLen {
		unused = append(unused, o.path+"OutputMaxSize")
	}
	unused = append(unused, o.takeUnused(o.path, "Type", "Definition", "ExposedPort")...)
	return s, unused, o.err
}

// checkID reads the check's ID, which Consul spells CheckID in service
// registrations and ID in check registrations; both are accepted.
func checkID(o *object) (string, error) {
	a, b := o.str("CheckID"), o.str("ID")
	switch {
	case o.err != nil:
		return "", o.err
	case a != "" && b != "" && a != b:
		return "", badRequest("%sCheckID: %s and ID %s disagree; give one of them", o.path, quote(a), quote(b))
	case a != "":
		return a, nil
	}
	return b, nil
}

// rewrite maps the store's field names, which count checks in
// the merged list, back to what the client sent: "Check." for the single
// Check, and Checks[i] shifted by one when Check came first.
func (d *decoded) rewrite(err error) error {
	var ve *store.ValidationError
	if !errors.As(err, &ve) || !d.single || !strings.HasPrefix(ve.Field, "Checks[") {
		return err
	}
	num, tail, found := strings.Cut(strings.TrimPrefix(ve.Field, "Checks["), "]")
	n, convErr := strconv.Atoi(num)
	if !found || convErr != nil {
		return err
	}
	field := "Check" + tail
	if n > 0 {
		field = "Checks[" + strconv.Itoa(n-1) + "]" + tail
	}
	return &store.ValidationError{Field: field, Msg: ve.Msg}
}
