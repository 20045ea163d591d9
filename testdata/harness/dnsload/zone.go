package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// zoneTTL is the TTL of every record in the NSD zone: beacon's -ttl for
// passing instances, so that answers are the same size.
const zoneTTL = 30

// negativeTTL is the SOA minimum, beacon's -negative-ttl.
const negativeTTL = 5

// writeZone writes ds as a zone file for NSD holding the same data beacon
// serves: per service an SRV RRset (priority 1, weight 1, the instance's
// port and <hex>.addr target) and an A RRset at <name>.<domain>, and an A
// record at each target, which NSD adds as glue to SRV answers. Names of
// ds.Missing are absent, so NSD answers them NXDOMAIN.
func writeZone(w io.Writer, ds *dataset) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "$ORIGIN %s\n$TTL %d\n", ds.Domain, zoneTTL)
	fmt.Fprintf(bw, "@ IN SOA ns.%s hostmaster.%s 1 3600 600 86400 %d\n", ds.Domain, ds.Domain, negativeTTL)
	// An NS host outside the zone, so that NSD has no NS glue to add to
	// the additional section of every answer.
	fmt.Fprintf(bw, "@ IN NS localhost.\n")
	for _, s := range ds.Services {
		for _, in := range s.Instances {
			fmt.Fprintf(bw, "%s IN SRV 1 1 %d %s\n", s.Name, in.Port, in.target(ds.Domain))
		}
		for _, in := range s.Instances {
			fmt.Fprintf(bw, "%s IN A %s\n", s.Name, in.Addr)
		}
		for _, in := range s.Instances {
			fmt.Fprintf(bw, "%s IN A %s\n", in.target(ds.Domain), in.Addr)
		}
	}
	return bw.Flush()
}

// nsdConfig is nsd.conf for one NSD server process on addr:port serving
// zoneFile, with everything it writes kept in dir, no privilege drop or
// chroot (it runs as the harness's user), no remote control and response
// rate limiting off (rrl-ratelimit: 0) so that it answers every query.
// minimal-responses stays off: with it NSD would drop the SRV glue that
// beacon sends (and the harness checks); without it NSD also adds the
// zone's NS RRset to the authority section, so its answers are a little
// larger than beacon's.
func nsdConfig(dir, addr string, port int, zone, zoneFile string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("server:")
	w("  ip-address: %s@%d", addr, port)
	w("  port: %d", port)
	w("  do-ip6: no")
	w("  server-count: 1")
	w("  username: \"\"")
	w("  chroot: \"\"")
	w("  zonesdir: %q", dir)
	w("  database: \"\"")
	w("  zonelistfile: %q", dir+"/zone.list")
	w("  xfrdfile: %q", dir+"/xfrd.state")
	w("  pidfile: %q", dir+"/nsd.pid")
	w("  logfile: %q", dir+"/nsd.log")
	w("  verbosity: 0")
	w("  hide-version: yes")
	w("  minimal-responses: no")
	w("  rrl-ratelimit: 0")
	w("  rrl-whitelist-ratelimit: 0")
	w("  tcp-count: 1000")
	w("remote-control:")
	w("  control-enable: no")
	w("zone:")
	w("  name: %q", strings.TrimSuffix(zone, "."))
	w("  zonefile: %q", zoneFile)
	return b.String()
}
