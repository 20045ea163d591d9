package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/etcdtest"
	"github.com/beacon-dns/beacon/internal/testkit"
)

// etcdPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, all as PEM files in dir.
func etcdPKI(t *testing.T, dir string) (files *etcdtest.TLSFiles, clientCert, clientKey string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "beacon test etcd CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		cert, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, cert, "CERTIFICATE", der)
		writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
		return cert, keyFile
	}
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", caDER)
	serverCert, serverKey := leaf("server", 2, x509.ExtKeyUsageServerAuth)
	clientCert, clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	files = &etcdtest.TLSFiles{Cert: serverCert, Key: serverKey, CA: caFile,
		Client: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}
	return files, clientCert, clientKey
}

// TestEtcdTLS runs beacon against an etcd that serves TLS and requires
// client certificates: with -etcd-cacert, -etcd-cert and -etcd-key it
// loads and writes; without the client certificate it never turns ready.
func TestEtcdTLS(t *testing.T) {
	dir := t.TempDir()
	files, cert, key := etcdPKI(t, dir)
	c := etcdtest.StartTLS(t, 1, files)
	target := "etcd://" + strings.Join(c.Endpoints(), ",")
	p := startBeacon(t, t.TempDir(), testkit.Options{Args: []string{"-store", target,
		"-etcd-cacert", files.CA, "-etcd-cert", cert, "-etcd-key", key}})
	p.mustDo(t, http.MethodPut, "/v1/agent/service/register", `{"ID":"tls1","Name":"tls","Address":"10.9.9.9"}`)
	if a := aRecords(t, p, "tls.service.local"); len(a) != 1 || a[0] != "10.9.9.9" {
		t.Errorf("DNS after a write over TLS: %v", a)
	}
	noCert := launch(t, t.TempDir(), testkit.Options{Args: []string{"-store", target, "-etcd-cacert", files.CA}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := noCert.WaitReady(ctx); err == nil {
		t.Error("beacon without a client certificate turned ready against etcd that requires one")
	}
}
