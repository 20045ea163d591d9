// Command coredns is CoreDNS built with only the plugins that
// Corefile.example uses, for cmd/beacon's TestCorefileWithCoreDNS: the
// full build compiles every plugin (cloud providers, Kubernetes, tracing)
// and takes minutes that CI cannot spare. A Corefile.example that needs
// another plugin fails that test until the plugin is added here.
//
//	go -C testdata/coredns build -o "$(go env GOPATH)/bin/coredns" .
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
)

// The plugins in the order CoreDNS runs them, as its plugin.cfg orders
// them.
func init() {
	dnsserver.Directives = []string{"errors", "cache", "forward"}
}

func main() { coremain.Run() }
