package dnsserver

import (
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// Sizes of the records in the truncation tests, whose names are all of
// the form xNN.service.local. (19 bytes packed, 23 with type and class).
const (
	headerQuestion = 12 + 23
	optSize        = 11
	srvSize        = 2 + 10 + 6 + 29 // owner pointer, fixed fields, priority/weight/port, <8 hex>.addr.service.local.
	glueSize       = 2 + 10 + 4      // owner pointer into the SRV target, fixed fields, IPv4
	aSize          = 2 + 10 + 4
)

// truncCase is one question at one size limit and what a reply must
// hold: every answer record or TC, and glue as far as it fits.
type truncCase struct {
	name    string
	qtype   uint16
	edns    uint16 // 0: no OPT record
	n       int    // instances of the service
	tc      bool
	answers int
	glue    int
}

// truncCases straddle the line where the answer section stops fitting,
// with and without the OPT record's 11 bytes.
func truncCases() []truncCase {
	glueLeft := func(used int) int { return (512 - used) / glueSize }
	return []truncCase{
		// 8 SRV fit in 512 bytes, their glue only in part: no TC.
		{"s08", dns.TypeSRV, 0, 8, false, 8, glueLeft(headerQuestion + 8*srvSize)},
		{"s08", dns.TypeSRV, 512, 8, false, 8, glueLeft(headerQuestion + optSize + 8*srvSize)},
		// 10 SRV fill 505 bytes: all fit, no room for glue, no TC; with
		// the OPT record they no longer fit: TC, 9 whole ones kept.
		{"s10", dns.TypeSRV, 0, 10, false, 10, 0},
		{"s10", dns.TypeSRV, 512, 10, true, 9, 0},
		{"s09", dns.TypeSRV, 512, 9, false, 9, glueLeft(headerQuestion + optSize + 9*srvSize)},
		{"s11", dns.TypeSRV, 0, 11, true, 10, 0},
		// The same line for A records, with no additional section.
		{"a29", dns.TypeA, 0, 29, false, 29, 0},
		{"a29", dns.TypeA, 512, 29, false, 29, 0},
		{"a30", dns.TypeA, 0, 30, true, 29, 0},
		{"a30", dns.TypeA, 512, 30, true, 29, 0},
		// Larger limits take everything.
		{"s11", dns.TypeSRV, 1232, 11, false, 11, 11},
		{"a30", dns.TypeA, 1232, 30, false, 30, 0},
	}
}

func (c truncCase) String() string {
	return fmt.Sprintf("%s %s edns %d", c.name, dns.TypeToString[c.qtype], c.edns)
}

func (c truncCase) msg() *dns.Msg {
	q := new(dns.Msg).SetQuestion(c.name+".service.local.", c.qtype)
	if c.edns > 0 {
		withEDNS(q, c.edns, false)
	}
	return q
}

// seedTrunc registers the services of truncCases.
func seedTrunc(t testing.TB, f *fixture) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range truncCases() {
		if !seen[c.name] {
			seen[c.name] = true
			seedService(t, f, c.name, c.n)
		}
	}
}

// check holds reply r, of raw bytes, to the case.
func (c truncCase) check(t *testing.T, r *dns.Msg, raw int) {
	t.Helper()
	limit := 512
	if c.edns > 512 {
		limit = int(c.edns)
	}
	if raw > limit {
		t.Errorf("%s: %d bytes, limit %d", c, raw, limit)
	}
	if r.Rcode != dns.RcodeSuccess || r.Truncated != c.tc {
		t.Errorf("%s: %s TC=%v, want NOERROR TC=%v", c, dns.RcodeToString[r.Rcode], r.Truncated, c.tc)
	}
	if len(r.Answer) != c.answers {
		t.Errorf("%s: %d answers, want %d", c, len(r.Answer), c.answers)
	}
	glue := withoutOPT(r.Extra)
	if len(glue) != c.glue {
		t.Errorf("%s: %d glue records, want %d (as many as fit)", c, len(glue), c.glue)
	}
	// Glue kept must be glue of the answer, whole.
	targets := map[string]bool{}
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			targets[srv.Target] = true
		}
	}
	for _, rr := range glue {
		if a, ok := rr.(*dns.A); !ok || !targets[a.Hdr.Name] || hexTarget(addrOf(a), "service.local.") != a.Hdr.Name {
			t.Errorf("%s: additional record %v is no glue of the answer", c, rr)
		}
	}
	if opt := r.IsEdns0(); (opt != nil) != (c.edns > 0) {
		t.Errorf("%s: reply OPT %v, query had one: %v", c, opt, c.edns > 0)
	}
}

// TestTruncateAnswerOnly checks RFC 2181 section 9: TC only when the
// answer does not fit, never for glue alone, over the handler and both
// UDP servers, from a fresh build and from the cache.
func TestTruncateAnswerOnly(t *testing.T) {
	for _, mode := range udpModes {
		t.Run(mode.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.UDPReaders = mode.readers })
			seedTrunc(t, f)
			for _, c := range truncCases() {
				for i := range 3 {
					q := c.msg()
					r, raw := serveRaw(t, f.srv.h, q, false)
					c.check(t, r, len(raw))
					r, wire := exchangeRaw(t, "udp", f.srv.UDPAddr(), c.msg())
					c.check(t, r, len(wire))
					if t.Failed() {
						t.Fatalf("%s, query %d", c, i)
					}
				}
				// Over TCP everything fits.
				r := exchange(t, "tcp", f.srv.TCPAddr(), c.msg())
				if r.Truncated || len(r.Answer) != c.n {
					t.Errorf("%s over TCP: TC=%v with %d answers, want all %d", c, r.Truncated, len(r.Answer), c.n)
				}
			}
		})
	}
}

func addrOf(a *dns.A) netip.Addr {
	ip, _ := netip.AddrFromSlice(a.A.To4())
	return ip
}

// digFlags matches the header summary of dig's output.
var digFlags = regexp.MustCompile(`;; flags:([a-z ]*); QUERY: 1, ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)`)

// TestTruncateDig holds ISC dig's view of the UDP replies to the
// truncation cases: dig +ignore reports the UDP reply itself, TC
// included, rather than retrying over TCP.
func TestTruncateDig(t *testing.T) {
	dig := testkit.Tool(t, "dig")
	f := newFixture(t, nil)
	seedTrunc(t, f)
	port := portOf(f.srv.UDPAddr())
	for _, c := range truncCases() {
		args := []string{"@127.0.0.1", "-p", port, "+time=3", "+tries=1", "+ignore", "+nocookie", c.name + ".service.local", dns.TypeToString[c.qtype]}
		if c.edns == 0 {
			args = append(args, "+noedns")
		} else {
			args = append(args, "+bufsize="+itoa(int(c.edns)))
		}
		out, err := exec.Command(dig, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		m := digFlags.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("dig %v: no header summary in\n%s", args, out)
		}
		tc := slices.Contains(strings.Fields(m[1]), "tc")
		opt := 0
		if c.edns > 0 {
			opt = 1
		}
		if tc != c.tc || m[2] != itoa(c.answers) || m[4] != itoa(c.glue+opt) {
			t.Errorf("%s: dig sees flags%s, %s answers, %s additional; want TC=%v, %d answers, %d additional\n%s",
				c, m[1], m[2], m[4], c.tc, c.answers, c.glue+opt, out)
		}
	}
}

// TestTruncateKdig holds Knot's kdig's view of the same replies.
func TestTruncateKdig(t *testing.T) {
	bin := kdigTool(t)
	f := newFixture(t, nil)
	seedTrunc(t, f)
	for _, c := range truncCases() {
		args := []string{"+notcp", "+ignore", c.name + ".service.local", dns.TypeToString[c.qtype]}
		if c.edns == 0 {
			args = append(args, "+noedns")
		} else {
			args = append(args, "+bufsize="+itoa(int(c.edns)))
		}
		r, k := kdig(t, bin, f, args...)
		c.check(t, r, k.MsgLength)
	}
}
