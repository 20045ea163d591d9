// Package dnsserver answers DNS queries for the registry from store snapshots.
package dnsserver
