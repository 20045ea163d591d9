package dnsserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// tcpLimits bound what one TCP connection may take (RFC 7766 section
// 6.2.3 leaves them to the server).
type tcpLimits struct {
	// conns is the number of connections served at once.
	conns int
	// first is the wait for a connection's first query, from accept.
	first time.Duration
	// idle is the wait for each later query, from the previous answer.
	idle time.Duration
	// write bounds the writing of one answer, so a client that stops
	// reading cannot hold its connection by leaving answers unread.
	write time.Duration
	// queries is the number of queries answered on one connection
	// before it is closed.
	queries int
}

// Bounds of the lingering close after a connection's last answer; see
// tcpConn.finish.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 64 << 10
)

// tcpServer serves DNS over TCP on one listener, in place of miekg/dns's
// TCP loop, for three reasons. miekg/dns restarts its idle timer after
// any message, however empty or malformed, so a client sending a
// zero-length message every few seconds held its connection, and 1,024
// such clients every slot, forever; here only a complete, parsed query
// restarts it, and everything else must fit in the time left. miekg/dns
// closes a connection at its query limit with the client's next queries
// unread, so the kernel resets it and drops the answers still queued;
// here the last answers are flushed before a clean close. And miekg/dns
// sets no write deadline, so a client that never reads holds its slot.
// Messages are still parsed by miekg/dns, and the same handler answers
// them as over UDP.
type tcpServer struct {
	ln    net.Listener
	h     *handler
	lim   tcpLimits
	slots chan struct{} // one per connection served
	quit  chan struct{} // closed by shutdown

	closing atomic.Bool
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup // the accept loop and every connection
}

func newTCPServer(ln net.Listener, h *handler, lim tcpLimits) *tcpServer {
	return &tcpServer{
		ln: ln, h: h, lim: lim,
		slots: make(chan struct{}, lim.conns),
		quit:  make(chan struct{}),
		conns: map[net.Conn]struct{}{},
	}
}

// serve accepts connections until shutdown, which makes it return nil,
// or until the listener fails.
func (s *tcpServer) serve() error {
	s.wg.Add(1)
	defer s.wg.Done()
	var backoff time.Duration
	for {
		// Take a slot before accepting, so clients beyond the limit
		// wait in the kernel's backlog rather than being accepted and
		// dropped.
		select {
		case s.slots <- struct{}{}:
		case <-s.quit:
			return nil
		}
		c, err := s.ln.Accept()
		if err != nil {
			<-s.slots
			if s.closing.Load() {
				return nil
			}
			if !transientAccept(err) {
				return err
			}
			// Out of descriptors or buffers: wait for some to be freed
			// rather than spin, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.h.log.Warn("cannot accept DNS TCP connection; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.quit:
				return nil
			}
			continue
		}
		backoff = 0
		if !s.track(c) {
			c.Close()
			<-s.slots
			return nil
		}
		go s.serveConn(c)
	}
}

// transientAccept reports whether an accept error leaves the listener
// usable: a resource running short or a connection aborted before it was
// accepted.
func transientAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// track registers c so shutdown can interrupt it; false means the server
// is shutting down.
func (s *tcpServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *tcpServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	<-s.slots
	s.wg.Done()
}

// shutdown stops accepting, interrupts every connection's wait for its
// next query, and waits, up to ctx, for the answers in progress; then it
// closes what is left.
func (s *tcpServer) shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing.Swap(true) {
		close(s.quit)
	}
	err := s.ln.Close()
	for c := range s.conns {
		c.SetReadDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// serveConn answers the queries on one connection in order until the
// client closes it, a deadline passes, a write fails or the query limit
// is reached.
func (s *tcpServer) serveConn(c net.Conn) {
	defer s.untrack(c)
	tc := &tcpConn{s: s, conn: c, r: bufio.NewReaderSize(c, 2048), w: tcpWriter{conn: c, timeout: s.lim.write}}
	defer func() {
		if p := recover(); p != nil {
			s.h.met.panics.Inc()
			s.h.log.Error("panic while serving a DNS TCP connection; closed it", "panic", p)
		}
		if !tc.w.hijacked {
			c.Close()
		}
	}()
	if tc.serve() {
		tc.finish()
	}
}

// tcpConn is one connection being served.
type tcpConn struct {
	s    *tcpServer
	conn net.Conn
	r    *bufio.Reader
	w    tcpWriter
	msg  []byte
}

// serve runs the read loop; it returns true when the connection reached
// its query limit with every answer written.
func (tc *tcpConn) serve() bool {
	s := tc.s
	// The deadline is set once per wait and moved only by a query that
	// was answered: empty messages, garbage, a length prefix cut short
	// or a query dripping in a byte at a time all count against it.
	deadline := time.Now().Add(s.lim.first)
	for answered := 0; answered < s.lim.queries; {
		if !tc.setReadDeadline(deadline) {
			return false
		}
		b, err := tc.read()
		if err != nil {
			return false
		}
		query := tc.answer(b)
		if tc.w.err != nil || tc.w.closed || tc.w.hijacked || s.closing.Load() {
			return false
		}
		if query {
			answered++
			deadline = time.Now().Add(s.lim.idle)
		}
	}
	return true
}

// setReadDeadline sets d unless the server is shutting down, which has
// set a deadline in the past that must stay.
func (tc *tcpConn) setReadDeadline(d time.Time) bool {
	tc.conn.SetReadDeadline(d)
	if tc.s.closing.Load() {
		// shutdown may have run between the check and the set.
		tc.conn.SetReadDeadline(time.Unix(1, 0))
		return false
	}
	return true
}

// read returns the next length-prefixed message (RFC 1035 section
// 4.2.2), valid until the next read.
func (tc *tcpConn) read() ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(tc.r, n[:]); err != nil {
		return nil, err
	}
	l := int(binary.BigEndian.Uint16(n[:]))
	if cap(tc.msg) < l {
		tc.msg = make([]byte, l)
	}
	b := tc.msg[:l]
	if _, err := io.ReadFull(tc.r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// answer handles one message as miekg/dns's server does: no header, no
// reply; the accept function's verdict; FORMERR when the rest does not
// parse; else the handler. It reports whether the message was a query
// the handler answered.
func (tc *tcpConn) answer(b []byte) bool {
	h := tc.s.h
	if len(b) < 12 {
		return false
	}
	dh := dns.Header{
		Id: binary.BigEndian.Uint16(b), Bits: binary.BigEndian.Uint16(b[2:]),
		Qdcount: binary.BigEndian.Uint16(b[4:]), Ancount: binary.BigEndian.Uint16(b[6:]),
		Nscount: binary.BigEndian.Uint16(b[8:]), Arcount: binary.BigEndian.Uint16(b[10:]),
	}
	switch h.accept(dh) {
	case dns.MsgIgnore:
		return false
	case dns.MsgReject:
		tc.w.Write(formErr(dh))
		return false
	}
	req := new(dns.Msg)
	if err := req.Unpack(b); err != nil {
		h.invalid(b, err)
		tc.w.Write(formErr(dh))
		return false
	}
	h.ServeDNS(&tc.w, req)
	return true
}

// finish closes a connection that reached its query limit without losing
// answers. Closing a socket whose receive queue holds data (the
// pipelined queries beyond the limit) makes the kernel send a reset at
// once and discard the answers not yet sent. So it shuts down the
// sending side, which sends FIN after the last answer, then reads and
// drops what the client still sends until it closes its side, for at
// most lingerTimeout and lingerBytes; the close that follows is clean.
func (tc *tcpConn) finish() {
	cw, ok := tc.conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	if !tc.setReadDeadline(time.Now().Add(lingerTimeout)) {
		return
	}
	io.Copy(io.Discard, io.LimitReader(tc.conn, lingerBytes))
}

// tcpWriter writes replies to a TCP connection, each with its length
// prefix in one write and within the write timeout.
type tcpWriter struct {
	conn     net.Conn
	timeout  time.Duration
	buf      []byte
	err      error // the first write error; the connection is done
	closed   bool
	hijacked bool
}

func (w *tcpWriter) Write(b []byte) (int, error) {
	switch {
	case w.err != nil:
		return 0, w.err
	case w.closed:
		return 0, net.ErrClosed
	case len(b) > dns.MaxMsgSize:
		return 0, errors.New("dns: reply too large for TCP")
	}
	w.buf = append(w.buf[:0], byte(len(b)>>8), byte(len(b)))
	w.buf = append(w.buf, b...)
	w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	if _, err := w.conn.Write(w.buf); err != nil {
		w.err = err
		return 0, err
	}
	// A connection's buffer keeps the size of its largest reply; keep
	// no more than a common one between replies.
	if cap(w.buf) > 4096 {
		w.buf = nil
	}
	return len(b), nil
}

func (w *tcpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (w *tcpWriter) LocalAddr() net.Addr  { return w.conn.LocalAddr() }
func (w *tcpWriter) RemoteAddr() net.Addr { return w.conn.RemoteAddr() }
func (w *tcpWriter) TsigStatus() error    { return nil }
func (w *tcpWriter) TsigTimersOnly(bool)  {}

// Close closes the connection after this reply.
func (w *tcpWriter) Close() error {
	w.closed = true
	return nil
}

// Hijack leaves the connection to the handler, which must close it.
func (w *tcpWriter) Hijack() { w.hijacked = true }

var _ dns.ResponseWriter = (*tcpWriter)(nil)
