package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"

	capi "github.com/hashicorp/consul/api"

	"github.com/beacon-dns/beacon/store"
)

// readBack is one registered instance as each read endpoint answers it,
// through the Consul Go client.
type readBack struct {
	agent, one *capi.AgentService
	catalog    *capi.CatalogService
	health     *capi.AgentService
}

func readInstance(t *testing.T, c *capi.Client, name, id string) readBack {
	t.Helper()
	var rb readBack
	svcs, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	rb.agent = svcs[id]
	if rb.one, _, err = c.Agent().Service(id, nil); err != nil {
		t.Fatal(err)
	}
	cs, _, err := c.Catalog().Service(name, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cs {
		if s.ServiceID == id {
			rb.catalog = s
		}
	}
	entries, _, err := c.Health().Service(name, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Service.ID == id {
			rb.health = en.Service
		}
	}
	if rb.agent == nil || rb.one == nil || rb.catalog == nil || rb.health == nil {
		t.Fatalf("%s missing from a read: %+v", id, rb)
	}
	return rb
}

// TestRegistrationShapes: what a registration carries comes back in
// Consul's shapes from every read, through the Consul Go client: no
// Address stays "" (while DNS keeps the advertise address), given tagged
// addresses are kept beside the ones Consul adds, and EnableTagOverride
// and Locality are echoed.
func TestRegistrationShapes(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	given := map[string]capi.ServiceAddress{
		"lan":      {Address: "db.internal", Port: 5432},
		"wan_ipv4": {Address: "198.51.100.7", Port: 15432},
	}
	regs := []*capi.AgentServiceRegistration{
		{ID: "no-addr", Name: "db", Port: 5432},
		{ID: "tagged", Name: "db", Address: "10.0.0.7", Port: 5432, TaggedAddresses: given,
			EnableTagOverride: true, Locality: &capi.Locality{Region: "eu-west-1", Zone: "eu-west-1a"}},
	}
	for _, r := range regs {
		if err := c.Agent().ServiceRegister(r); err != nil {
			t.Fatalf("register %s: %v", r.ID, err)
		}
	}

	t.Run("no address", func(t *testing.T) {
		rb := readInstance(t, c, "db", "no-addr")
		for where, got := range map[string]string{"agent/services": rb.agent.Address, "agent/service": rb.one.Address,
			"catalog/service": rb.catalog.ServiceAddress, "health/service": rb.health.Address} {
			if got != "" {
				t.Errorf("%s: Address = %q, want \"\"", where, got)
			}
		}
		if rb.agent.TaggedAddresses != nil || rb.catalog.ServiceTaggedAddresses != nil {
			t.Errorf("tagged addresses for no address: %v, %v", rb.agent.TaggedAddresses, rb.catalog.ServiceTaggedAddresses)
		}
		if rb.catalog.Address != "127.0.0.1" {
			t.Errorf("catalog node Address = %q; clients fall back to it", rb.catalog.Address)
		}
		if in := e.st.Snapshot().Instance("no-addr"); in.Addr != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("DNS address = %v, want the advertise address", in.Addr)
		}
	})

	t.Run("given tagged addresses and the rest", func(t *testing.T) {
		rb := readInstance(t, c, "db", "tagged")
		want := map[string]capi.ServiceAddress{
			"lan":      {Address: "db.internal", Port: 5432},
			"wan_ipv4": {Address: "198.51.100.7", Port: 15432},
			"lan_ipv4": {Address: "10.0.0.7", Port: 5432},
		}
		loc := &capi.Locality{Region: "eu-west-1", Zone: "eu-west-1a"}
		for where, s := range map[string]*capi.AgentService{"agent/services": rb.agent, "agent/service": rb.one, "health/service": rb.health} {
			if !reflect.DeepEqual(s.TaggedAddresses, want) || !s.EnableTagOverride || !reflect.DeepEqual(s.Locality, loc) {
				t.Errorf("%s: TaggedAddresses %v, EnableTagOverride %v, Locality %+v", where, s.TaggedAddresses, s.EnableTagOverride, s.Locality)
			}
		}
		if cs := rb.catalog; !reflect.DeepEqual(cs.ServiceTaggedAddresses, want) || !cs.ServiceEnableTagOverride || !reflect.DeepEqual(cs.ServiceLocality, loc) {
			t.Errorf("catalog/service: %v, %v, %+v", cs.ServiceTaggedAddresses, cs.ServiceEnableTagOverride, cs.ServiceLocality)
		}
	})

	t.Run("filters see them", func(t *testing.T) {
		svcs, err := c.Agent().ServicesWithFilter(`EnableTagOverride == true`)
		if err != nil || len(svcs) != 1 || svcs["tagged"] == nil {
			t.Errorf("filter on EnableTagOverride = %v, %v", svcs, err)
		}
		svcs, err = c.Agent().ServicesWithFilter(`Address == ""`)
		if err != nil || len(svcs) != 1 || svcs["no-addr"] == nil {
			t.Errorf("filter on an empty Address = %v, %v", svcs, err)
		}
	})

	t.Run("a re-registration without them drops them", func(t *testing.T) {
		if err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{ID: "tagged", Name: "db", Address: "10.0.0.7", Port: 5432}); err != nil {
			t.Fatal(err)
		}
		s, _, err := c.Agent().Service("tagged", nil)
		if err != nil || s.EnableTagOverride || s.Locality != nil || len(s.TaggedAddresses) != 2 {
			t.Errorf("after re-registration: %+v, %v", s, err)
		}
	})
}

// TestRegistrationFieldsPersist: the fields survive a restart, read back
// from the database by a new store and API.
func TestRegistrationFieldsPersist(t *testing.T) {
	dir := t.TempDir()
	start := func() (*store.Store, *capi.Client, func()) {
		st := openStore(t, dir)
		srv := httptest.NewServer(New(Config{Logger: quietLogger()}, st).Handler())
		u, _ := url.Parse(srv.URL)
		c, err := capi.NewClient(&capi.Config{Address: u.Host})
		if err != nil {
			t.Fatal(err)
		}
		return st, c, func() { srv.Close(); _ = st.Close() }
	}
	_, c, stop := start()
	err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{ID: "p1", Name: "p", Port: 80, EnableTagOverride: true,
		TaggedAddresses: map[string]capi.ServiceAddress{"lan_ipv6": {Address: "2001:db8::1", Port: 80}},
		Locality:        &capi.Locality{Region: "r1"}})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	st, c, stop := start()
	defer stop()
	s, _, err := c.Agent().Service("p1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Address != "" || !s.EnableTagOverride || !reflect.DeepEqual(s.Locality, &capi.Locality{Region: "r1"}) ||
		!reflect.DeepEqual(s.TaggedAddresses, map[string]capi.ServiceAddress{"lan_ipv6": {Address: "2001:db8::1", Port: 80}}) {
		t.Errorf("after a restart: %+v", s)
	}
	if in := st.Snapshot().Instance("p1"); in.Address != "127.0.0.1" || !in.NoAddress {
		t.Errorf("after a restart the DNS address is %q (NoAddress %v)", in.Address, in.NoAddress)
	}
}

// TestRegistrationWarnsIgnored: fields beacon accepts and does nothing
// with are named in the Warning header; the ones it keeps are not.
func TestRegistrationWarnsIgnored(t *testing.T) {
	e := newEnv(t, Config{})
	cases := []struct {
		name, body string
		want, not  []string
	}{
		{"read-only fields sent back", `{"Name":"w","CreateIndex":7,"ModifyIndex":9,"ContentHash":"ab","Datacenter":"dc1"}`,
			[]string{"ignored fields beacon does not use: ", "CreateIndex", "ModifyIndex", "ContentHash", "Datacenter"}, []string{"unknown"}},
		{"check fields", `{"Name":"w","Check":{"TTL":"5s","OutputMaxSize":100,"Type":"ttl","Definition":{"TTL":"5s"}}}`,
			[]string{"Check.OutputMaxSize", "Check.Type", "Check.Definition"}, nil},
		{"unknown inside kept fields", `{"Name":"w","TaggedAddresses":{"lan":{"Address":"10.0.0.1","Prot":1}},"Locality":{"Region":"r","Zon":"z"}}`,
			[]string{"ignored unknown fields: ", `TaggedAddresses[\"lan\"].Prot`, "Locality.Zon"}, []string{"does not use"}},
		{"kept fields are not named", `{"Name":"w","EnableTagOverride":true,"TaggedAddresses":{"lan":{"Address":"10.0.0.1","Port":1}},"Locality":{"Region":"r"},"Check":{"TTL":"5s","OutputMaxSize":4096}}`,
			nil, []string{"TaggedAddresses", "EnableTagOverride", "Locality", "OutputMaxSize"}},
		{"zero read-only values are not named", `{"Name":"w","CreateIndex":0,"Datacenter":""}`, nil, []string{"CreateIndex", "Datacenter"}},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			w := e.with(t).must(http.StatusOK, "PUT", "/v1/agent/service/register", k.body).header.Get("Warning")
			for _, s := range k.want {
				if !strings.Contains(w, s) {
					t.Errorf("Warning %q does not name %q", w, s)
				}
			}
			for _, s := range k.not {
				if strings.Contains(w, s) {
					t.Errorf("Warning %q names %q", w, s)
				}
			}
		})
	}
}

// TestRegistrationFieldsRefused: malformed tagged addresses and
// localities are 400 naming the field, as Consul refuses a lan_ipv4 that
// is not IPv4.
func TestRegistrationFieldsRefused(t *testing.T) {
	e := newEnv(t, Config{})
	var entries []string
	for i := range store.MaxTaggedAddresses + 1 {
		entries = append(entries, fmt.Sprintf(`"k%d":{"Address":"10.0.0.1"}`, i))
	}
	many := `{"Name":"w","TaggedAddresses":{` + strings.Join(entries, ",") + `}}`
	cases := []struct {
		name, body, field string
	}{
		{"lan_ipv4 not IPv4", `{"Name":"w","TaggedAddresses":{"lan_ipv4":{"Address":"2001:db8::1","Port":1}}}`, `TaggedAddresses["lan_ipv4"].Address`},
		{"wan_ipv6 not IPv6", `{"Name":"w","TaggedAddresses":{"wan_ipv6":{"Address":"10.0.0.1"}}}`, `TaggedAddresses["wan_ipv6"].Address`},
		{"no address", `{"Name":"w","TaggedAddresses":{"lan":{"Port":1}}}`, `TaggedAddresses["lan"].Address`},
		{"bad address", `{"Name":"w","TaggedAddresses":{"lan":{"Address":"300.1.1.1"}}}`, `TaggedAddresses["lan"].Address`},
		{"bad port", `{"Name":"w","TaggedAddresses":{"lan":{"Address":"10.0.0.1","Port":70000}}}`, `TaggedAddresses["lan"].Port`},
		{"bad key", `{"Name":"w","TaggedAddresses":{"la n":{"Address":"10.0.0.1"}}}`, "TaggedAddresses"},
		{"not an object", `{"Name":"w","TaggedAddresses":["lan"]}`, "TaggedAddresses"},
		{"too many", many, "TaggedAddresses"},
		{"Locality not an object", `{"Name":"w","Locality":"eu"}`, "Locality"},
		{"Locality.Region too long", `{"Name":"w","Locality":{"Region":"` + strings.Repeat("r", 129) + `"}}`, "Locality.Region"},
		{"EnableTagOverride not a boolean", `{"Name":"w","EnableTagOverride":"yes"}`, "EnableTagOverride"},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			r := e.with(t).must(http.StatusBadRequest, "PUT", "/v1/agent/service/register", k.body)
			errorLine(t, r)
			if !strings.HasPrefix(r.body, k.field) {
				t.Errorf("message %q does not start with %s", r.body, k.field)
			}
		})
	}
	if n := e.st.Snapshot().InstanceCount(); n != 0 {
		t.Errorf("refused registrations left %d instances", n)
	}
}
