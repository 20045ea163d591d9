package dnsserver

import (
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// tsigKey is a key beacon cannot know: it holds none.
const (
	tsigName   = "unknown.key."
	tsigSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=" // "secret-secret-secret"
)

// signed returns q's wire form signed with tsigKey (RFC 8945), as a
// client holding the key sends it.
func signed(t *testing.T, q *dns.Msg, algo string) []byte {
	t.Helper()
	q.SetTsig(tsigName, algo, 300, 1_767_225_600)
	b, _, err := dns.TsigGenerate(q, tsigSecret, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkBadKey holds r, the reply to q signed with algo, to RFC 8945
// section 5.2.1: NOTAUTH, no data, and last an unsigned TSIG record with
// error BADKEY for the same key.
func checkBadKey(t *testing.T, what string, q, r *dns.Msg, algo string) {
	t.Helper()
	if r.Id != q.Id || r.Rcode != dns.RcodeNotAuth || r.Authoritative || len(r.Answer)+len(r.Ns) != 0 {
		t.Errorf("%s: ID %d %s AA=%v with %d answers, %d authority; want ID %d NOTAUTH, no AA, no records",
			what, r.Id, dns.RcodeToString[r.Rcode], r.Authoritative, len(r.Answer), len(r.Ns), q.Id)
	}
	if len(r.Question) != 1 || r.Question[0] != q.Question[0] {
		t.Errorf("%s: question %v, want %v echoed", what, r.Question, q.Question)
	}
	ts := r.IsTsig()
	if ts == nil {
		t.Fatalf("%s: no TSIG record last in %v", what, r.Extra)
	}
	if ts.Hdr.Name != tsigName || ts.Hdr.Class != dns.ClassANY || ts.Algorithm != algo || ts.Error != dns.RcodeBadKey ||
		ts.MACSize != 0 || ts.MAC != "" || ts.OrigId != q.Id {
		t.Errorf("%s: TSIG %v, want key %s, %s, error BADKEY, no MAC, original ID %d", what, ts, tsigName, algo, q.Id)
	}
	if opt := r.IsEdns0(); (opt != nil) != (q.IsEdns0() != nil) {
		t.Errorf("%s: reply OPT %v, query had one: %v", what, opt, q.IsEdns0() != nil)
	}
}

// TestTSIGUnknownKey sends signed queries over the handler, UDP (both
// readers) and TCP: each gets BADKEY, never an answer, not even one the
// cache holds for the same question unsigned, and the cache keeps no
// BADKEY for unsigned queries.
func TestTSIGUnknownKey(t *testing.T) {
	for _, mode := range udpModes {
		t.Run(mode.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.UDPReaders = mode.readers })
			seed(t, f)
			for _, c := range []struct {
				name  string
				qname string
				edns  bool
				algo  string
			}{
				{"in the zone", "web.service.local.", false, dns.HmacSHA256},
				{"with EDNS", "web.service.local.", true, dns.HmacSHA256},
				{"other algorithm", "WEB.service.local.", true, dns.HmacSHA512},
				{"nxdomain", "nope.service.local.", false, dns.HmacSHA1},
				{"outside the zone", "example.com.", true, dns.HmacSHA256},
			} {
				query := func() *dns.Msg {
					q := new(dns.Msg).SetQuestion(c.qname, dns.TypeA)
					if c.edns {
						q.SetEdns0(1232, true)
					}
					return q
				}
				for _, tr := range transports {
					// Unsigned first, so its answer is in the cache.
					tr.do(t, f, query())
					for range 2 {
						q := query()
						b := signed(t, q, c.algo)
						var r *dns.Msg
						switch tr.name {
						case "handler":
							req := new(dns.Msg)
							if err := req.Unpack(b); err != nil {
								t.Fatal(err)
							}
							r = serveDirect(t, f.srv.h, req, false)
						case "udp":
							r = exchangeBytes(t, "udp", f.srv.UDPAddr(), b)
						case "tcp":
							r = exchangeBytes(t, "tcp", f.srv.TCPAddr(), b)
						}
						checkBadKey(t, c.name+" over "+tr.name, q, r, c.algo)
					}
					if r := tr.do(t, f, query()); r.Rcode == dns.RcodeNotAuth || r.IsTsig() != nil {
						t.Errorf("%s over %s: unsigned query after signed ones got %s with TSIG %v", c.name, tr.name, dns.RcodeToString[r.Rcode], r.IsTsig())
					}
				}
			}
		})
	}
}

// TestTSIGMisplaced checks FORMERR for TSIG records anywhere but once,
// last in the additional section (RFC 8945 section 5.2).
func TestTSIGMisplaced(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	sig := func() *dns.TSIG {
		q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
		q.SetTsig(tsigName, dns.HmacSHA256, 300, 1_767_225_600)
		return q.Extra[0].(*dns.TSIG)
	}
	opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}}
	check := func(name string, b []byte) {
		t.Helper()
		for _, network := range []string{"udp", "tcp"} {
			addr := f.srv.UDPAddr()
			if network == "tcp" {
				addr = f.srv.TCPAddr()
			}
			r := exchangeBytes(t, network, addr, b)
			if r.Rcode != dns.RcodeFormatError || len(r.Answer) != 0 || r.IsTsig() != nil {
				t.Errorf("TSIG %s over %s: %s with %d answers, TSIG %v; want FORMERR, nothing else", name, network, dns.RcodeToString[r.Rcode], len(r.Answer), r.IsTsig())
			}
		}
	}
	for _, c := range []struct {
		name   string
		answer []dns.RR
		extra  []dns.RR
	}{
		{"before the OPT record", nil, []dns.RR{sig(), opt}},
		{"two", nil, []dns.RR{sig(), sig()}},
		{"in the answer section", []dns.RR{sig()}, nil},
	} {
		q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
		q.Answer, q.Extra = c.answer, c.extra
		b, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		check(c.name, b)
	}
	// A TSIG record with no data at all unpacks, with no algorithm.
	b, _ := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA).Pack()
	b[11] = 1
	b = append(b, 1, 'k', 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0)
	check("without data", b)
}

// TestTSIGDigKdig signs queries with dig -y and kdig -y, over UDP and
// TCP, and checks that both tools see NOTAUTH with TSIG error BADKEY.
func TestTSIGDigKdig(t *testing.T) {
	dig, kd := testkit.Tool(t, "dig"), kdigTool(t)
	f := newFixture(t, nil)
	seed(t, f)
	port := portOf(f.srv.UDPAddr())
	key := "hmac-sha256:" + strings.TrimSuffix(tsigName, ".") + ":" + tsigSecret
	if _, err := base64.StdEncoding.DecodeString(tsigSecret); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"+notcp", "+tcp"} {
		for _, name := range []string{"web.service.local", "example.com"} {
			out, err := exec.Command(dig, "@127.0.0.1", "-p", port, "+time=3", "+tries=1", proto, "-y", key, name, "A").CombinedOutput()
			if err != nil {
				t.Fatalf("dig -y %s %s: %v\n%s", proto, name, err, out)
			}
			s := string(out)
			if !strings.Contains(s, "status: NOTAUTH") || !strings.Contains(s, "ANSWER: 0,") ||
				!strings.Contains(s, "unknown.key.\t\t0\tANY\tTSIG\thmac-sha256. ") || !strings.Contains(s, " BADKEY 0") {
				t.Errorf("dig -y %s %s: want NOTAUTH, no answer, a TSIG record with BADKEY:\n%s", proto, name, s)
			}

			r, k := kdig(t, kd, f, proto, "-y", key, name, "A")
			if r.Rcode != dns.RcodeNotAuth || len(r.Answer) != 0 || r.Authoritative {
				t.Errorf("kdig -y %s %s: %s with %d answers AA=%v, want NOTAUTH, none, no AA", proto, name, dns.RcodeToString[r.Rcode], len(r.Answer), r.Authoritative)
			}
			var tsig []string
			for _, rr := range k.Extra {
				if rr.Type == dns.TypeTSIG {
					tsig = append(tsig, rr.RDataTSIG)
				}
			}
			if len(tsig) != 1 || !strings.HasPrefix(tsig[0], "hmac-sha256. ") || !strings.HasSuffix(tsig[0], " BADKEY 0") ||
				strings.Fields(tsig[0])[3] != "0" {
				t.Errorf("kdig -y %s %s: TSIG records %q, want one for hmac-sha256 with MAC size 0 and BADKEY", proto, name, tsig)
			}
		}
	}
}
