//go:build unix

package main

import "syscall"

// raiseNoFile raises the soft limit on open descriptors to the hard one
// and returns the limit now in force. Every HTTP and DNS TCP connection
// and every health check holds a descriptor, and the common soft limit
// of 1,024 is too few for them; the hard limit is what the operator
// granted. (Go's runtime raises it too, since Go 1.19; doing it here
// keeps the figure beacon plans with in one place, and in its log.)
func raiseNoFile() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = raised.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return lim.Cur, err
		}
		lim = raised
	}
	return lim.Cur, nil
}
