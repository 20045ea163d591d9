package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestDiskFull fills a small tmpfs data dir through the API. The write
// that does not fit must get a 5xx with a one-line message, beacon must
// keep serving, and the catalog must hold exactly the acknowledged
// writes, before and after a restart.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := mountTmpfs(t, "1m")
	p := serve(t, dir)
	c := newAPIClient(p.HTTPAddr)
	defer c.close()
	l := newLedger()

	// At 16 KiB each, 1 MiB holds about 60 registrations; 1000 is a bound.
	var full *apiError
	for i := 0; i < 1000 && full == nil; i++ {
		reg := bigRegistration(fmt.Sprintf("fill-%d", i), 16)
		if err := write(t, c, l, reg.ID, reg.expected(), func() error { return c.register(ctx, reg) }); err != nil {
			full = err
		}
	}
	if full == nil {
		t.Fatal("1000 registrations of 16 KiB fitted into a 1 MiB tmpfs; the disk never filled")
	}
	msg := strings.TrimSpace(full.Body)
	t.Logf("disk full after %d registrations: %d %s", l.acked(), full.Status, msg)
	if full.Status < 500 || full.Status > 599 {
		t.Errorf("write on a full disk answered %d, want 5xx", full.Status)
	}
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("write on a full disk answered %q, want a one-line message", msg)
	}
	healthy(t, p)

	// Further writes on the full disk either succeed or fail cleanly.
	small := registration{ID: "small", Name: "bulk", Address: "10.9.9.9", Port: 1}
	write(t, c, l, small.ID, small.expected(), func() error { return c.register(ctx, small) })
	write(t, c, l, "fill-0", nil, func() error { return c.deregister(ctx, "fill-0") })
	healthy(t, p)
	l.verify(ctx, t, c)

	code, err := terminate(p)
	if err != nil || code != 0 {
		t.Errorf("SIGTERM on a full disk: exit %d, %v; output: %s", code, err, testkit.LastLines(p.Log(), 5))
	}
	noCrash(t, p)

	// A restart on the still full disk may fail, but only cleanly; with
	// room made it must start and hold what was acknowledged.
	q := spawn(t, dir)
	if err := q.WaitReady(ctx); err != nil {
		noCrash(t, q)
		t.Logf("restart on the full disk refused: %s", testkit.LastLines(q.Log(), 1))
		remount(t, dir, "size=4m")
		q = serve(t, dir)
	}
	c2 := newAPIClient(q.HTTPAddr)
	defer c2.close()
	l.verify(ctx, t, c2)
}

// write sends one write and records its answer in l. Every answer must
// be 200 or 5xx; no answer at all means beacon went down, which fails the
// test. It returns the error answer, if any.
func write(t *testing.T, c *apiClient, l *ledger, id string, next *agentService, send func() error) *apiError {
	t.Helper()
	l.begin(id, next)
	err := send()
	if err == nil {
		l.ack(id, next)
		return nil
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("write of %s got no answer: %v", id, err)
	}
	l.refuse(id)
	if ae.Status < 500 {
		t.Errorf("write of %s answered %d on a full disk, want 200 or 5xx: %s", id, ae.Status, ae.Body)
	}
	return ae
}

// healthy fails t unless p is running and /healthz answers 200.
func healthy(t *testing.T, p *testkit.Beacon) {
	t.Helper()
	if p.Exited() {
		t.Fatalf("beacon exited: %s", testkit.LastLines(p.Log(), 5))
	}
	resp, err := http.Get("http://" + p.HTTPAddr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz answered %d", resp.StatusCode)
	}
}

// mountTmpfs mounts a tmpfs of the given size on a fresh temp dir, or
// skips the test where mounting is not permitted. It is unmounted at
// cleanup, after the beacon processes started later are gone.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("skipped: cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// remount changes the options of the tmpfs on dir.
func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, opts, err, out)
	}
}
