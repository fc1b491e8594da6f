package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate and key for 127.0.0.1 into dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tansa test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS serves HTTPS with --tls-cert/--tls-key: health answers over
// TLS, plain HTTP is not served, and the session cookie is Secure.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"tansa", "serve", "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
			"--tls-cert", certFile, "--tls-key", keyFile}, testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": "tls-test-password"}),
			strings.NewReader(""), out, errb)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after its context ended", err)
		}
	}()
	re := regexp.MustCompile(`Tansa is listening on (https://\S+)`)
	var base string
	for i := 0; base == ""; i++ {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if i > 3000 {
			t.Fatalf("no https address printed; stdout %q stderr %q", out, errb)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var res *http.Response
	var err error
	for i := 0; i < 500; i++ {
		if res, err = client.Get(base + "/healthz"); err == nil && res.StatusCode == 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("https healthz: %v %v", res, err)
	}
	if hsts := res.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Errorf("no Strict-Transport-Security header over TLS")
	}
	if plain, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/healthz"); err == nil && plain.StatusCode == 200 {
		t.Errorf("plain HTTP answered 200 on the TLS port")
	}
	res, err = client.PostForm(base+"/login", url.Values{"username": {"admin"}, "password": {"tls-test-password"}})
	if err != nil {
		t.Fatal(err)
	}
	secure := false
	for _, c := range res.Cookies() {
		if c.Name == "tansa_session" {
			secure = c.Secure && c.HttpOnly
		}
	}
	if res.StatusCode != http.StatusSeeOther || !secure {
		t.Fatalf("login over TLS: status %d, session cookie Secure+HttpOnly %v", res.StatusCode, secure)
	}
}
