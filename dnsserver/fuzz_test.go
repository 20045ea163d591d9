package dnsserver

import (
	"encoding/binary"
	"testing"

	"github.com/miekg/dns"
)

// FuzzHandler feeds raw packets through the path the server takes: the
// accept function on the header, Unpack, then the handler. It asserts no
// panic escapes (the handler would count one), and that a reply is well
// formed, carries the request's ID and fits the client's limit.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f, nil)
	seed(f, fx)
	for _, q := range []*dns.Msg{
		new(dns.Msg).SetQuestion("web.service.local.", dns.TypeSRV),
		withEDNS(new(dns.Msg).SetQuestion("WeB.service.local.", dns.TypeA), 1232, true),
		new(dns.Msg).SetQuestion("_web._tcp.service.local.", dns.TypeSRV),
		new(dns.Msg).SetQuestion("0a000005.addr.service.local.", dns.TypeA),
		new(dns.Msg).SetQuestion("5.0.0.10.in-addr.arpa.", dns.TypePTR),
		new(dns.Msg).SetQuestion("service.local.", dns.TypeNS),
		new(dns.Msg).SetQuestion("nope.service.local.", dns.TypeANY),
		new(dns.Msg).SetQuestion("example.com.", dns.TypeA),
	} {
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	h := fx.srv.h
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 12 {
			return // the server drops what has no header
		}
		dh := dns.Header{
			Id: binary.BigEndian.Uint16(data), Bits: binary.BigEndian.Uint16(data[2:]),
			Qdcount: binary.BigEndian.Uint16(data[4:]), Ancount: binary.BigEndian.Uint16(data[6:]),
			Nscount: binary.BigEndian.Uint16(data[8:]), Arcount: binary.BigEndian.Uint16(data[10:]),
		}
		if h.accept(dh) != dns.MsgAccept {
			return // answered or dropped by miekg/dns itself
		}
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return // FORMERR from miekg/dns itself
		}
		tcp := dh.Id&1 == 1
		rec := &recorder{tcp: tcp}
		h.ServeDNS(rec, req)
		if readCounter(h.met.panics) != 0 {
			t.Fatalf("handler panicked on %x", data)
		}
		if rec.n == 0 {
			return
		}
		if rec.n != 1 {
			t.Fatalf("%d replies", rec.n)
		}
		r := new(dns.Msg)
		if err := r.Unpack(rec.buf); err != nil {
			t.Fatalf("reply does not unpack: %v\nrequest %v", err, req)
		}
		if r.Id != req.Id || !r.Response {
			t.Fatalf("reply ID %d QR %v, request ID %d", r.Id, r.Response, req.Id)
		}
		if limit := parseEDNS(req).limit(tcp); len(rec.buf) > limit {
			t.Fatalf("reply of %d bytes over the limit %d", len(rec.buf), limit)
		}
	})
}
