package admin

import (
	"errors"
	"net/netip"
	"reflect"
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
	if err := refuseServiceExtras(o); err != nil {
		return nil, err
	}
	var unknown []string
	if r.Checks, d.single, unknown, err = decodeServiceChecks(o); err != nil {
		return nil, err
	}
	d.unknown = append(o.unknown(), unknown...)
	return d, nil
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
// the default ones; EnableTagOverride, TaggedAddresses and Locality are
// accepted and have no effect on one node.
func refuseServiceExtras(o *object) error {
	for _, u := range unsupportedService {
		if f, ok := o.take(u.name); ok && present(f.val) {
			return badRequest("%s: %s", u.name, u.why)
		}
	}
	kind, ns, part := o.str("Kind"), o.str("Namespace"), o.str("Partition")
	o.boolean("EnableTagOverride")
	switch {
	case o.err != nil:
		return o.err
	case kind != "" && kind != "typical":
		return badRequest("Kind: %s is not supported; beacon registers typical services only (leave Kind out)", quote(kind))
	case ns != "" && ns != "default":
		return badRequest("Namespace: %s is not supported; beacon has only the default namespace", quote(ns))
	case part != "" && part != "default":
		return badRequest("Partition: %s is not supported; beacon has only the default partition", quote(part))
	}
	for _, name := range []string{"TaggedAddresses", "Locality", "Datacenter", "CreateIndex", "ModifyIndex", "ContentHash", "AI"} {
		o.take(name)
	}
	return nil
}

// decodeServiceChecks merges Check and Checks, Check first, as Consul
// does. It also returns the checks' unknown fields.
func decodeServiceChecks(o *object) (specs []store.CheckSpec, single bool, unknown []string, err error) {
	var objs []*object
	if f, ok := o.take("Check"); ok {
		c, err := asObject(f.val, "Check", "Check.")
		if err != nil {
			return nil, false, nil, err
		}
		objs, single = append(objs, c), true
	}
	if f, ok := o.take("Checks"); ok {
		list, isList := f.val.([]any)
		if !isList {
			return nil, false, nil, badRequest("Checks: must be a list of check objects, not %s", kindOf(f.val))
		}
		if len(list)+len(objs) > store.MaxChecks {
			return nil, false, nil, badRequest("Checks: has %d checks; at most %d are allowed", len(list)+len(objs), store.MaxChecks)
		}
		for i, v := range list {
			name := "Checks[" + strconv.Itoa(i) + "]"
			c, err := asObject(v, name, name+".")
			if err != nil {
				return nil, false, nil, err
			}
			objs = append(objs, c)
		}
	}
	for i, c := range objs {
		spec, err := decodeCheck(c)
		if err != nil {
			return nil, false, nil, err
		}
		unknown = append(unknown, c.unknown()...)
		if i == 0 && single && reflect.ValueOf(spec).IsZero() {
			// A Check that decodes to nothing is no check, as in Consul's
			// ServiceDefinition.CheckTypes; an empty one in Checks is
			// refused there and here.
			single = false
			continue
		}
		specs = append(specs, spec)
	}
	return specs, single, unknown, nil
}

// decodeCheck reads one check definition, of a service registration or of
// PUT /v1/agent/check/register.
func decodeCheck(o *object) (store.CheckSpec, error) {
	for _, u := range unsupportedCheck {
		if f, ok := o.take(u.name); ok && present(f.val) {
			return store.CheckSpec{}, badRequest("%s%s: %s; %s", o.path, u.name, u.why, supportedChecks)
		}
	}
	id, err := checkID(o)
	if err != nil {
		return store.CheckSpec{}, err
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
	// OutputMaxSize is accepted; output is always kept to 4 KiB. The
	// others are Consul's read-only fields, sent back by clients that
	// registered what they had read.
	o.integer("OutputMaxSize")
	for _, name := range []string{"Type", "Definition", "ExposedPort"} {
		o.take(name)
	}
	return s, o.err
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
