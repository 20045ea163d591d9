package dnsserver

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

const (
	// udpBatch is how many datagrams one recvmmsg or sendmmsg moves.
	udpBatch = 64
	// udpBufSize is the read buffer per datagram. A longer query
	// (none is legitimate: beacon honours at most 4096 bytes of EDNS
	// payload) fills it and is dropped.
	udpBufSize = 4096
)

// batchConn is what ipv4.PacketConn and ipv6.PacketConn have in common.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// udpServer serves DNS on one UDP socket with a fixed set of readers. Each
// reads up to udpBatch queries with one recvmmsg, answers them in turn on
// its own goroutine, and sends the replies with one sendmmsg, where
// miekg/dns spends two system calls and a goroutine on every query.
// Messages are still parsed and packed by miekg/dns, and the same handler
// answers them. Forwarded queries leave the batch (asyncWriter), so a slow
// recursor never holds up the queries behind them.
type udpServer struct {
	conn    *net.UDPConn
	bc      batchConn
	h       *handler
	rrl     *limiter // nil without a rate limit
	local   net.Addr
	readers int

	closing  atomic.Bool
	wg       sync.WaitGroup // readers
	detached sync.WaitGroup // replies written outside a batch
}

func newUDPServer(conn *net.UDPConn, h *handler, readers int) *udpServer {
	u := &udpServer{conn: conn, h: h, local: conn.LocalAddr(), readers: readers}
	if a, ok := u.local.(*net.UDPAddr); ok && a.IP.To4() == nil {
		u.bc = ipv6.NewPacketConn(conn)
	} else {
		u.bc = ipv4.NewPacketConn(conn)
	}
	return u
}

// start runs the readers; stopped hears of a reader that fails.
func (u *udpServer) start(stopped func(error)) {
	for range u.readers {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			if err := u.read(); !u.closing.Load() {
				stopped(err)
			}
		}()
	}
}

// shutdown closes the socket and waits, up to ctx, for the readers and
// for replies in flight.
func (u *udpServer) shutdown(ctx context.Context) error {
	u.closing.Store(true)
	err := u.conn.Close()
	done := make(chan struct{})
	go func() { u.wg.Wait(); u.detached.Wait(); close(done) }()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// read is one reader's loop; it returns only when the socket fails or
// closes.
func (u *udpServer) read() error {
	in := make([]ipv4.Message, udpBatch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, udpBufSize)}
	}
	out := make([]ipv4.Message, udpBatch)
	bufs := make([][]byte, udpBatch)
	for i := range out {
		bufs[i] = make([]byte, 0, 512)
		out[i].Buffers = bufs[i : i+1]
	}
	w := &batchWriter{u: u}
	for {
		n, err := u.bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || u.closing.Load() {
				return err
			}
			// Transient (ENOBUFS, ENOMEM, an ICMP error): miekg/dns
			// also reads on.
			u.h.log.Debug("UDP read failed", "err", err)
			continue
		}
		if u.rrl != nil {
			// One clock reading serves the batch.
			w.sec = u.rrl.second()
		}
		k := 0
		for i := range n {
			m := &in[i]
			if m.N >= udpBufSize {
				continue
			}
			w.reset(m.Addr, &bufs[k])
			u.serve(m.Buffers[0][:m.N], w)
			if w.wrote {
				out[k].Buffers[0], out[k].Addr = bufs[k], m.Addr
				k++
			}
		}
		u.flush(out[:k])
	}
}

// flush sends the batch's replies; sendmmsg may take fewer than offered.
func (u *udpServer) flush(out []ipv4.Message) {
	for len(out) > 0 {
		n, err := u.bc.WriteBatch(out, 0)
		if err != nil {
			u.h.log.Debug("UDP write failed", "err", err)
			// Skip the datagram that failed, as a lone write would.
			n++
		}
		out = out[min(n, len(out)):]
	}
}

// serve answers one datagram the way miekg/dns's server does: no header,
// no reply; the accept function's verdict; FORMERR when the rest does not
// parse; else the handler.
func (u *udpServer) serve(b []byte, w *batchWriter) {
	if len(b) < 12 {
		return
	}
	// ServeDNS recovers its own panics; this guards the parsing before
	// it, since a panic here would end the reader and UDP service.
	defer func() {
		if p := recover(); p != nil {
			u.h.met.panics.Inc()
			u.h.log.Error("panic while parsing a DNS request; dropped it", "panic", p)
		}
	}()
	dh := dns.Header{
		Id: binary.BigEndian.Uint16(b), Bits: binary.BigEndian.Uint16(b[2:]),
		Qdcount: binary.BigEndian.Uint16(b[4:]), Ancount: binary.BigEndian.Uint16(b[6:]),
		Nscount: binary.BigEndian.Uint16(b[8:]), Arcount: binary.BigEndian.Uint16(b[10:]),
	}
	switch u.h.accept(dh) {
	case dns.MsgIgnore:
		return
	case dns.MsgReject:
		w.Write(formErr(dh))
		return
	}
	req := new(dns.Msg)
	if err := req.Unpack(b); err != nil {
		u.h.invalid(b, err)
		w.Write(formErr(dh))
		return
	}
	if u.rrl != nil && !u.rrl.admit(w, req, w.sec) {
		return
	}
	u.h.ServeDNS(w, req)
}

// formErr is the header-only FORMERR miekg/dns sends to what it cannot
// take: the request's ID and flags, QR set, AA clear, opcode QUERY.
func formErr(dh dns.Header) []byte {
	const qr, aa, opcode = 1 << 15, 1 << 10, 0xf << 11
	bits := dh.Bits&^(0xf|aa|opcode) | qr | dns.RcodeFormatError
	var b [12]byte
	binary.BigEndian.PutUint16(b[:], dh.Id)
	binary.BigEndian.PutUint16(b[2:], bits)
	return b[:]
}

// batchWriter collects one reply into the reader's batch.
type batchWriter struct {
	u      *udpServer
	remote net.Addr
	buf    *[]byte
	wrote  bool
	sec    uint64 // the batch's rate-limiting period
}

func (w *batchWriter) reset(remote net.Addr, buf *[]byte) {
	w.remote, w.buf, w.wrote = remote, buf, false
}

func (w *batchWriter) Write(b []byte) (int, error) {
	if w.wrote {
		return 0, errors.New("dns: reply already written")
	}
	*w.buf = append((*w.buf)[:0], b...)
	w.wrote = true
	return len(b), nil
}

func (w *batchWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.PackBuffer((*w.buf)[:cap(*w.buf)])
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (w *batchWriter) LocalAddr() net.Addr  { return w.u.local }
func (w *batchWriter) RemoteAddr() net.Addr { return w.remote }
func (w *batchWriter) Close() error         { return nil }
func (w *batchWriter) TsigStatus() error    { return nil }
func (w *batchWriter) TsigTimersOnly(bool)  {}
func (w *batchWriter) Hijack()              {}

// async runs f on its own goroutine with a writer that sends at once,
// leaving the batch to go on without this reply.
func (w *batchWriter) async(f func(dns.ResponseWriter)) {
	pw := &packetWriter{conn: w.u.conn, local: w.u.local, remote: w.remote}
	w.u.detached.Add(1)
	go func() {
		defer w.u.detached.Done()
		f(pw)
	}()
}

// asyncWriter is a ResponseWriter whose reply may come later from
// another goroutine.
type asyncWriter interface {
	async(func(dns.ResponseWriter))
}

// packetWriter writes one reply straight to the socket.
type packetWriter struct {
	conn          *net.UDPConn
	local, remote net.Addr
}

func (w *packetWriter) Write(b []byte) (int, error) { return w.conn.WriteTo(b, w.remote) }
func (w *packetWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *packetWriter) LocalAddr() net.Addr  { return w.local }
func (w *packetWriter) RemoteAddr() net.Addr { return w.remote }
func (w *packetWriter) Close() error         { return nil }
func (w *packetWriter) TsigStatus() error    { return nil }
func (w *packetWriter) TsigTimersOnly(bool)  {}
func (w *packetWriter) Hijack()              {}

var (
	_ dns.ResponseWriter = (*batchWriter)(nil)
	_ asyncWriter        = (*batchWriter)(nil)
	_ dns.ResponseWriter = (*packetWriter)(nil)
)
