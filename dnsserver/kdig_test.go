package dnsserver

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// kdigReply is the part of kdig's +json output (RFC 8427) the tests read.
type kdigReply struct {
	MsgLength int    `json:"msgLength"`
	ID        uint16 `json:"ID"`
	QR, AA    int
	TC, RD    int
	RA, AD    int
	CD        int
	Opcode    int      `json:"Opcode"`
	RCODE     int      `json:"RCODE"`
	QName     string   `json:"QNAME"`
	QType     uint16   `json:"QTYPE"`
	QClass    uint16   `json:"QCLASS"`
	Answer    []kdigRR `json:"answerRRs"`
	Authority []kdigRR `json:"authorityRRs"`
	Extra     []kdigRR `json:"additionalRRs"`
}

type kdigRR struct {
	Name     string `json:"NAME"`
	Type     uint16 `json:"TYPE"`
	Class    uint16 `json:"CLASS"`
	TTL      uint32 `json:"TTL"`
	RDLength int    `json:"RDLENGTH"`
	RDataHex string `json:"RDATAHEX"`
	// RDataTSIG is a TSIG record's data in kdig's presentation form:
	// algorithm, time, fudge, MAC size, [MAC,] original ID, error, other
	// length.
	RDataTSIG string `json:"rdataTSIG"`
}

// msg rebuilds the reply kdig decoded, so that it can be checked as the
// replies miekg/dns decodes are. Records come from their RDATA in RFC
// 3597 form, an OPT record from its class and TTL (and any option makes
// its Option non-empty).
func (k *kdigReply) msg() (*dns.Msg, error) {
	m := &dns.Msg{MsgHdr: dns.MsgHdr{
		Id: k.ID, Response: k.QR == 1, Opcode: k.Opcode, Authoritative: k.AA == 1,
		Truncated: k.TC == 1, RecursionDesired: k.RD == 1, RecursionAvailable: k.RA == 1,
		AuthenticatedData: k.AD == 1, CheckingDisabled: k.CD == 1, Rcode: k.RCODE,
	}}
	if k.QName != "" {
		m.Question = []dns.Question{{Name: k.QName, Qtype: k.QType, Qclass: k.QClass}}
	}
	for _, s := range []struct {
		in  []kdigRR
		out *[]dns.RR
	}{{k.Answer, &m.Answer}, {k.Authority, &m.Ns}, {k.Extra, &m.Extra}} {
		for _, r := range s.in {
			if r.Type == dns.TypeOPT {
				opt := &dns.OPT{Hdr: dns.RR_Header{Name: r.Name, Rrtype: dns.TypeOPT, Class: r.Class, Ttl: r.TTL}}
				if r.RDLength > 0 {
					opt.Option = []dns.EDNS0{&dns.EDNS0_LOCAL{Code: dns.EDNS0LOCALSTART}}
				}
				m.Rcode |= opt.ExtendedRcode()
				*s.out = append(*s.out, opt)
				continue
			}
			rr, err := dns.NewRR(fmt.Sprintf(`%s %d CLASS%d TYPE%d \# %d %s`, r.Name, r.TTL, r.Class, r.Type, r.RDLength, r.RDataHex))
			if err != nil {
				return nil, fmt.Errorf("record %+v: %v", r, err)
			}
			*s.out = append(*s.out, rr)
		}
	}
	return m, nil
}

// kdigTool returns kdig's path, skipping the test (failing it in CI)
// when it is missing or too old for +json (Knot 3.1).
func kdigTool(t *testing.T) string {
	t.Helper()
	kdig := testkit.Tool(t, "kdig")
	if out, err := exec.Command(kdig, "+json", "-h").CombinedOutput(); err != nil || strings.Contains(string(out), "invalid option") {
		unavailable(t, "kdig without +json: %s", out)
	}
	return kdig
}

// kdig runs kdig against the server and returns the reply it decoded.
func kdig(t *testing.T, kdig string, f *fixture, args ...string) (*dns.Msg, *kdigReply) {
	t.Helper()
	args = append([]string{"@127.0.0.1", "-p", portOf(f.srv.UDPAddr()), "+json", "+time=3", "+retry=0"}, args...)
	out, err := exec.Command(kdig, args...).Output()
	if err != nil {
		t.Fatalf("kdig %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var k kdigReply
	if err := json.Unmarshal(out, &k); err != nil {
		t.Fatalf("kdig %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	m, err := k.msg()
	if err != nil {
		t.Fatalf("kdig %s: %v", strings.Join(args, " "), err)
	}
	return m, &k
}

// TestKdig runs the zone's table through Knot's kdig, a client that
// shares no code with miekg/dns, over UDP and TCP.
func TestKdig(t *testing.T) {
	bin := kdigTool(t)
	f := newFixture(t, nil)
	seed(t, f)
	serial := uint32(f.st.Snapshot().Index())
	for _, proto := range []string{"+notcp", "+tcp"} {
		for _, c := range zoneCases(serial) {
			if c.Opcode != dns.OpcodeQuery || c.Qtype == dns.TypeAXFR {
				continue // kdig sends only queries, and AXFR as a transfer
			}
			t.Run(proto+"/"+c.String(), func(t *testing.T) {
				args := []string{proto, c.Qname, "TYPE" + itoa(int(c.Qtype))}
				if c.Qclass != 0 {
					args = append(args, "-c", "CLASS"+itoa(int(c.Qclass)))
				}
				r, _ := kdig(t, bin, f, args...)
				// kdig lower-cases the names it is given; dig keeps
				// their case (TestDig).
				q := c.Msg()
				q.Id, q.Question[0].Name = r.Id, strings.ToLower(c.Qname)
				c.check(t, q, r)
				if r.IsEdns0() != nil {
					t.Errorf("reply has OPT, query had none")
				}
			})
		}
	}
}

// TestKdigEDNS checks EDNS and truncation as kdig sees them.
func TestKdigEDNS(t *testing.T) {
	bin := kdigTool(t)
	f := newFixture(t, nil)
	seed(t, f)
	seedBig(t, f, 60)
	for _, c := range []struct {
		name  string
		args  []string
		rcode int
		do    bool
		tc    bool
		limit int // largest reply allowed; 0: none asked
		n     int // answer records, -1: some but not all 60
	}{
		{"OPT echoed", []string{"+edns", "web.service.local", "A"}, dns.RcodeSuccess, false, false, 0, 2},
		{"DO echoed", []string{"+dnssec", "web.service.local", "SRV"}, dns.RcodeSuccess, true, false, 0, 3},
		{"unknown options ignored", []string{"+nsid", "+cookie", "+padding", "+subnet=192.0.2.0/24", "+ednsopt=65001:abcd", "web.service.local", "AAAA"}, dns.RcodeSuccess, false, false, 0, 1},
		{"BADVERS", []string{"+edns=1", "web.service.local", "A"}, dns.RcodeBadVers, false, false, 0, 0},
		{"BADVERS outside the zone", []string{"+edns=3", "+dnssec", "example.com", "A"}, dns.RcodeBadVers, true, false, 0, 0},
		{"EDNS REFUSED", []string{"+edns", "example.com", "A"}, dns.RcodeRefused, false, false, 0, 0},
		{"truncated to 1232", []string{"+bufsize=1232", "+ignore", "big.service.local", "SRV"}, dns.RcodeSuccess, false, true, 1232, -1},
		{"below 512 means 512", []string{"+bufsize=100", "+ignore", "big.service.local", "SRV"}, dns.RcodeSuccess, false, true, 512, -1},
		{"fits 4096", []string{"+bufsize=4096", "big.service.local", "SRV"}, dns.RcodeSuccess, false, false, 4096, 60},
		{"above 4096 means 4096", []string{"+bufsize=65535", "big.service.local", "SRV"}, dns.RcodeSuccess, false, false, 4096, 60},
		{"complete after TC over TCP", []string{"+bufsize=1232", "big.service.local", "SRV"}, dns.RcodeSuccess, false, false, 0, 60},
		{"no EDNS, truncated to 512", []string{"+noedns", "+ignore", "big.service.local", "A"}, dns.RcodeSuccess, false, true, 512, -1},
		{"no EDNS, TCP", []string{"+noedns", "+tcp", "big.service.local", "A"}, dns.RcodeSuccess, false, false, 0, 60},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, k := kdig(t, bin, f, c.args...)
			if r.Rcode != c.rcode || r.Truncated != c.tc || r.RecursionAvailable {
				t.Errorf("rcode %s TC %v RA %v, want %s TC %v RA false", dns.RcodeToString[r.Rcode], r.Truncated, r.RecursionAvailable, dns.RcodeToString[c.rcode], c.tc)
			}
			if c.limit > 0 && k.MsgLength > c.limit {
				t.Errorf("%d bytes, over %d", k.MsgLength, c.limit)
			}
			switch n := len(r.Answer); {
			case c.n >= 0 && n != c.n, c.n < 0 && (n == 0 || n >= 60):
				t.Errorf("%d answers, want %d (-1: some, not all)", n, c.n)
			}
			if c.n == 60 && r.Answer[0].Header().Rrtype == dns.TypeSRV && len(withoutOPT(r.Extra)) != 60 {
				t.Errorf("%d glue records, want 60", len(withoutOPT(r.Extra)))
			}
			opt := r.IsEdns0()
			if edns := !strings.Contains(strings.Join(c.args, " "), "+noedns"); (opt != nil) != edns {
				t.Fatalf("reply OPT %v, query had one: %v", opt, edns)
			}
			if opt != nil && (opt.Version() != 0 || opt.Do() != c.do || len(opt.Option) != 0) {
				t.Errorf("reply OPT %v, want version 0, DO %v, no options", opt, c.do)
			}
		})
	}
}
