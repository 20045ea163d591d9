package health

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/store"
)

func TestParseTargets(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"any", "any"},
		{"", "any"},
		{"instance", "instance"},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{" 127.0.0.2 , ::1 ,fd00::/8", "127.0.0.2/32,::1/128,fd00::/8"},
		{"10.0.0.0/33", ""},
		{"example.com", ""},
		{"fe80::1%eth0", ""},
		{"10.0.0.0/8,", ""},
		{"instance,10.0.0.0/8", "instance,10.0.0.0/8"},
		{"10.0.0.0/8, instance", "instance,10.0.0.0/8"},
		{"any,10.0.0.0/8", ""},
	}
	for _, tc := range tests {
		got, err := ParseTargets(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseTargets(%q) = %s, want an error", tc.in, got)
		case tc.want != "" && (err != nil || got.String() != tc.want):
			t.Errorf("ParseTargets(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
		if err == nil {
			if again, err := ParseTargets(got.String()); err != nil || again.String() != got.String() {
				t.Errorf("%q does not read back: %s, %v", got, again, err)
			}
		}
	}
}

// counted is a real HTTP server on ip that counts the requests it gets.
type counted struct {
	*httptest.Server
	hits atomic.Int64
}

func serveOn(t *testing.T, ip string, h http.HandlerFunc) *counted {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	c := &counted{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		h(w, r)
	}))
	c.Listener.Close()
	c.Listener = ln
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// tcpOn is a real listener on ip that counts the connections it accepts.
func tcpOn(t *testing.T, ip string) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

// TestCheckTargets runs checks under each -check-targets mode against
// real servers on 127.0.0.1 and 127.0.0.2: allowed targets are checked,
// forbidden ones (directly, by redirect, or through a name that resolves
// to them) are refused with an output that says so, before any packet
// reaches them.
func TestCheckTargets(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }
	redirectTo := func(url string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, url, http.StatusFound) }
	}
	for _, mode := range []string{"any", "instance", "127.0.0.2/32", "instance,127.0.0.1/32"} {
		t.Run(mode, func(t *testing.T) {
			targets, err := ParseTargets(mode)
			if err != nil {
				t.Fatal(err)
			}
			// Each case has targets of its own, so that a refused one
			// can be seen not to have been reached.
			a, b := serveOn(t, "127.0.0.1", ok), serveOn(t, "127.0.0.2", ok)
			viaA := serveOn(t, "127.0.0.2", ok)
			aToB := serveOn(t, "127.0.0.1", redirectTo(viaA.URL+"/via"))
			viaB := serveOn(t, "127.0.0.1", ok)
			bToA := serveOn(t, "127.0.0.2", redirectTo(viaB.URL+"/via"))
			named := serveOn(t, "127.0.0.1", ok)
			_, port, _ := net.SplitHostPort(named.Listener.Addr().String())
			byName := "http://localhost:" + port + "/" // localhost resolves to 127.0.0.1
			own := serveOn(t, "127.0.0.1", ok)
			tcpA, acceptedA := tcpOn(t, "127.0.0.1")
			tcpB, acceptedB := tcpOn(t, "127.0.0.2")

			st := openStore(t, t.TempDir(), nil)
			start(t, st, Config{Targets: targets})
			// refused is the refusal of ip for a check of an instance at
			// in, as the output words it.
			refused := func(ip, in string) string {
				switch {
				case mode == "127.0.0.2/32":
					return fmt.Sprintf("%s is outside -check-targets (%s)", ip, mode)
				case ip != in: // the instance rule speaks first
					return fmt.Sprintf("%s is outside -check-targets (instance: the instance's address is %s)", ip, in)
				}
				return fmt.Sprintf("%s is outside -check-targets (127.0.0.1/32)", ip) // combined: the network rule
			}
			tests := []struct {
				id, address string
				check       store.CheckSpec
				allowed     map[string]bool // by mode
				output      string          // of a refusal, a prefix
				reached     func() int64    // what a refused check must not reach
			}{
				{"http-a", "127.0.0.1", store.CheckSpec{HTTP: a.URL}, map[string]bool{"any": true, "instance": true, "instance,127.0.0.1/32": true},
					"HTTP GET " + a.URL + ": refused: " + refused("127.0.0.1", "127.0.0.1"), a.hits.Load},
				{"http-b", "127.0.0.1", store.CheckSpec{HTTP: b.URL}, map[string]bool{"any": true, "127.0.0.2/32": true},
					"HTTP GET " + b.URL + ": refused: " + refused("127.0.0.2", "127.0.0.1"), b.hits.Load},
				{"redirect-to-b", "127.0.0.1", store.CheckSpec{HTTP: aToB.URL}, map[string]bool{"any": true},
					map[bool]string{
						true:  "HTTP GET " + aToB.URL + ": redirect to " + viaA.URL + "/via refused: " + refused("127.0.0.2", "127.0.0.1"),
						false: "HTTP GET " + aToB.URL + ": refused: " + refused("127.0.0.1", "127.0.0.1"), // the first hop already
					}[mode != "127.0.0.2/32"], viaA.hits.Load},
				{"redirect-to-a", "127.0.0.2", store.CheckSpec{HTTP: bToA.URL}, map[string]bool{"any": true},
					map[bool]string{
						true:  "HTTP GET " + bToA.URL + ": refused: " + refused("127.0.0.2", "127.0.0.2"), // the first hop already
						false: "HTTP GET " + bToA.URL + ": redirect to " + viaB.URL + "/via refused: " + refused("127.0.0.1", "127.0.0.2"),
					}[mode == "instance,127.0.0.1/32"], viaB.hits.Load},
				{"name-resolving-elsewhere", "127.0.0.2", store.CheckSpec{HTTP: byName}, map[string]bool{"any": true},
					"HTTP GET " + byName + ": refused: ", named.hits.Load},
				{"instance-by-name", "localhost", store.CheckSpec{HTTP: own.URL}, map[string]bool{"any": true, "instance": true, "instance,127.0.0.1/32": true},
					"HTTP GET " + own.URL + ": refused: " + refused("127.0.0.1", "localhost"), own.hits.Load},
				{"tcp-a", "127.0.0.1", store.CheckSpec{TCP: tcpA}, map[string]bool{"any": true, "instance": true, "instance,127.0.0.1/32": true},
					"TCP connect " + tcpA + ": refused: " + refused("127.0.0.1", "127.0.0.1"), acceptedA.Load},
				{"tcp-b", "127.0.0.1", store.CheckSpec{TCP: tcpB}, map[string]bool{"any": true, "127.0.0.2/32": true},
					"TCP connect " + tcpB + ": refused: " + refused("127.0.0.2", "127.0.0.1"), acceptedB.Load},
			}
			for _, tc := range tests {
				tc.check.Interval = 10 * time.Second
				tc.check.Status = store.Warning // neither outcome
				registerAt(t, st, tc.id, tc.address, tc.check)
			}
			for _, tc := range tests {
				id := "service:" + tc.id
				waitFor(t, 5*time.Second, tc.id+" checked", func() bool { return statusOf(st, id) != store.Warning })
				c := checkOf(st, id)
				if tc.allowed[mode] {
					if c.Status != store.Passing || tc.reached() == 0 {
						t.Errorf("%s: %s %q, want passing, the target reached", tc.id, c.Status, c.Output)
					}
					continue
				}
				if c.Status != store.Critical || !strings.HasPrefix(c.Output, tc.output) {
					t.Errorf("%s: %s %q, want critical %q", tc.id, c.Status, c.Output, tc.output)
				}
				if n := tc.reached(); n != 0 {
					t.Errorf("%s: the refused target was reached %d times", tc.id, n)
				}
			}
		})
	}
}

// TestInstanceTargetsKeepNoConnection: under "instance", a connection
// opened for one instance's check is not reused for another instance's
// check of the same URL, which that instance may not reach.
func TestInstanceTargetsKeepNoConnection(t *testing.T) {
	b := serveOn(t, "127.0.0.2", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	st := openStore(t, t.TempDir(), nil)
	start(t, st, Config{Targets: Targets{instance: true}})
	registerAt(t, st, "owner", "127.0.0.2", store.CheckSpec{HTTP: b.URL, Interval: 10 * time.Second})
	waitFor(t, 5*time.Second, "the owner's check passing", func() bool { return statusOf(st, "service:owner") == store.Passing })
	hits := b.hits.Load()
	registerAt(t, st, "other", "127.0.0.1", store.CheckSpec{HTTP: b.URL, Interval: 10 * time.Second, Status: store.Passing})
	waitFor(t, 5*time.Second, "the other instance's check refused", func() bool { return statusOf(st, "service:other") == store.Critical })
	if got := checkOf(st, "service:other").Output; !strings.Contains(got, "refused: 127.0.0.2 is outside -check-targets") {
		t.Errorf("output %q, want the refusal", got)
	}
	if b.hits.Load() != hits {
		t.Error("the other instance's request reached the target over the owner's connection")
	}
}

// registerAt registers instance id at address with one check.
func registerAt(t *testing.T, st *store.Store, id, address string, check store.CheckSpec) {
	t.Helper()
	if _, err := st.Register(store.Registration{ID: id, Name: "web", Address: address, Port: 80, Checks: []store.CheckSpec{check}}); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}
