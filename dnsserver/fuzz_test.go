package dnsserver

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// FuzzHandler feeds raw packets through the paths the server takes for
// UDP and TCP. It asserts that nothing panics (the handler would count
// one), and that a reply, if any, is well formed, carries the request's
// ID and fits the client's limit.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f, nil)
	seed(f, fx)
	seedBig(f, fx, 60) // answers too large for most limits
	for _, q := range []*dns.Msg{
		new(dns.Msg).SetQuestion("big.service.local.", dns.TypeSRV),
		withEDNS(new(dns.Msg).SetQuestion("BIG.service.local.", dns.TypeA), 700, false),
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
	u := &udpServer{h: h, local: udpLocal}
	f.Fuzz(func(t *testing.T, data []byte) {
		// UDP: the batched reader's own path from bytes to reply.
		var buf []byte
		w := &batchWriter{u: u}
		w.reset(remote, &buf)
		u.serve(data, w)
		if w.wrote {
			checkReply(t, data, buf, false)
		}
		// TCP: miekg/dns's server path, the accept function on the
		// header, Unpack, then the handler.
		if len(data) < 12 {
			return // no header: dropped
		}
		if h.accept(header(data)) != dns.MsgAccept {
			return // answered or dropped by miekg/dns itself
		}
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return // FORMERR from miekg/dns itself
		}
		rec := &recorder{tcp: true}
		h.ServeDNS(rec, req)
		if rec.n != 1 {
			t.Fatalf("%d replies over TCP", rec.n)
		}
		checkReply(t, data, rec.buf, true)
		if readCounter(h.met.panics) != 0 {
			t.Fatalf("handler panicked on %x", data)
		}
	})
}

// checkReply asserts that reply is a well-formed response to the request
// in query, within the client's size limit.
func checkReply(t *testing.T, query, reply []byte, tcp bool) {
	t.Helper()
	r := new(dns.Msg)
	if err := r.Unpack(reply); err != nil {
		t.Fatalf("reply does not unpack: %v\nrequest %x", err, query)
	}
	if r.Id != binary.BigEndian.Uint16(query) || !r.Response {
		t.Fatalf("reply ID %d QR %v, request %x", r.Id, r.Response, query)
	}
	limit := dns.MaxMsgSize
	if req := new(dns.Msg); !tcp && req.Unpack(query) == nil {
		limit = parseEDNS(req).limit(false)
	}
	if len(reply) > limit {
		t.Fatalf("reply of %d bytes over the limit %d", len(reply), limit)
	}
}

func header(b []byte) dns.Header {
	return dns.Header{
		Id: binary.BigEndian.Uint16(b), Bits: binary.BigEndian.Uint16(b[2:]),
		Qdcount: binary.BigEndian.Uint16(b[4:]), Ancount: binary.BigEndian.Uint16(b[6:]),
		Nscount: binary.BigEndian.Uint16(b[8:]), Arcount: binary.BigEndian.Uint16(b[10:]),
	}
}

// streamConn is a net.Conn whose reads come from a fixed stream and whose
// writes are kept, for feeding the TCP loop without sockets.
type streamConn struct {
	net.Conn // nil: methods not overridden are not used
	in       *bytes.Reader
	out      bytes.Buffer
}

func (c *streamConn) Read(b []byte) (int, error)       { return c.in.Read(b) }
func (c *streamConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return tcpLocal }
func (c *streamConn) RemoteAddr() net.Addr             { return remote }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzTCPStream feeds a byte stream through the TCP loop, length
// prefixes included, with a limit of 4 queries: nothing panics, every reply is a well-formed,
// length-prefixed response, and no message gets more than one.
func FuzzTCPStream(f *testing.F) {
	fx := newFixture(f, nil)
	seed(f, fx)
	// Seeds: testdata/fuzz/FuzzTCPStream (queries alone and pipelined,
	// zero-length messages, cut prefixes and messages, garbage).
	srv := &tcpServer{h: fx.srv.h, lim: tcpLimits{queries: 4, first: time.Second, idle: time.Second, write: time.Second}}
	f.Fuzz(func(t *testing.T, stream []byte) {
		c := &streamConn{in: bytes.NewReader(stream)}
		tc := &tcpConn{s: srv, conn: c, r: bufio.NewReader(c), w: tcpWriter{conn: c, timeout: time.Second}}
		tc.serve()
		out := c.out.Bytes()
		for n := 0; len(out) > 0; n++ {
			if len(out) < 2 || len(out) < 2+int(binary.BigEndian.Uint16(out)) {
				t.Fatalf("reply %d cut short: %x", n, out)
			}
			l := int(binary.BigEndian.Uint16(out))
			r := new(dns.Msg)
			if err := r.Unpack(out[2 : 2+l]); err != nil || !r.Response {
				t.Fatalf("reply %d: %v %v", n, err, r)
			}
			out = out[2+l:]
			if n >= len(stream)/2 {
				t.Fatalf("more replies than messages in %x", stream)
			}
		}
		if readCounter(fx.srv.h.met.panics) != 0 {
			t.Fatalf("panic on %x", stream)
		}
	})
}
