package bridge_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// freeAddr is a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silent accepts connections and never says a word, as a port that is not
// NATS's (or a proxy that holds the connection) does.
func silent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

// selfSigned is a certificate for 127.0.0.1 that no CA signed.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nats"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// A bridge that cannot reach NATS says where it tried and why, in the log,
// in /readyz and on the status page, and keeps trying; the password it was
// refused with shows nowhere.
func TestUnreachableNATSNamesTheAddressAndTheCause(t *testing.T) {
	t.Parallel()
	const password = "Wr0ngS3cretPW"
	ns := testkit.NATSWith(t, &server.Options{Users: []*server.User{{Username: "bridge", Password: "right-pw"}}})
	addr := ns.Addr().String()
	secured := testkit.NATSWith(t, &server.Options{TLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, MinVersion: tls.VersionTLS12}})
	konnect := testkit.NewKonnect(t)
	tests := map[string]struct {
		url, user, password string
		cause               string
	}{
		"a port nobody listens on":      {url: "nats://" + freeAddr(t), cause: "connection refused"},
		"a host that does not resolve":  {url: "nats://nats.invalid:4222", cause: "no such host: nats.invalid does not resolve"},
		"a password the server refuses": {url: "nats://" + addr, user: "bridge", password: password, cause: "authorization violation"},
		"the password in the URL":       {url: "nats://bridge:" + password + "@" + addr, cause: "authorization violation"},
		"TLS the server does not offer": {url: "tls://" + addr, user: "bridge", password: "right-pw", cause: "TLS: the server does not offer TLS"},
		"a certificate nobody signed":   {url: "nats://" + secured.Addr().String(), cause: "TLS: the server's certificate is not trusted"},
		"a port that never answers":     {url: "nats://" + silent(t), cause: "timeout: no NATS answer within 2s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := testkit.Config(tc.url, konnect.URL)
			cfg.NATS.User, cfg.NATS.Password = tc.user, config.Secret(tc.password)
			cfg.Bridge.HTTPAddr = freeAddr(t)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			shown := config.RedactURL(tc.url)
			logged, log := testkit.NewLog(t)
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- bridge.Run(ctx, cfg, log, nil) }()

			var reason string
			testkit.Eventually(t, 10*time.Second, func() bool {
				var r health.Report
				if err := json.Unmarshal([]byte(fetch(t, cfg.Bridge.HTTPAddr, "/readyz")), &r); err != nil {
					return false
				}
				reason = component(r, health.NATS).Reason
				return strings.Contains(reason, tc.cause)
			}, "/readyz's nats reason never said %q", tc.cause)
			if want := "NATS at " + shown + " is not reachable: " + tc.cause; !strings.HasPrefix(reason, want) {
				t.Errorf("/readyz's nats reason is %q, want it to start with %q", reason, want)
			}
			testkit.Eventually(t, 5*time.Second, func() bool {
				return logged.Contains(`"nats":"`+shown+`"`) && logged.Contains(`"cause":"`+tc.cause) &&
					logged.Contains("NATS at "+shown+" is not reachable; retrying every second")
			}, "the log never named %s and %q", shown, tc.cause)
			page := fetch(t, cfg.Bridge.HTTPAddr, "/")
			if !strings.Contains(page, shown) || !strings.Contains(page, strings.SplitN(tc.cause, ":", 2)[0]) {
				t.Errorf("the status page does not name %s and %q", shown, tc.cause)
			}
			stop()
			if err := <-done; err != nil {
				t.Errorf("the bridge stopped with %v", err)
			}
			if logged.Contains(password) {
				t.Error("the log shows the password")
			}
			for where, text := range map[string]string{"/readyz": reason, "the status page": page} {
				if strings.Contains(text, password) {
					t.Errorf("%s shows the password:\n%s", where, text)
				}
			}
		})
	}
}

// fetch is GET path on the admin server at addr; "" while it does not answer.
func fetch(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A bridge that loses NATS says the same: where it tries to reconnect and
// why it cannot.
func TestLostNATSNamesTheAddressAndTheCause(t *testing.T) {
	t.Parallel()
	ns := testkit.NATS(t)
	url := ns.ClientURL()
	logged, log := testkit.NewLog(t)
	b := testkit.StartBridgeLog(t, testkit.Config(url, testkit.NewKonnect(t).URL), log)
	ns.Shutdown()
	want := "NATS at " + url + " is not reachable: connection refused"
	var reason string
	testkit.Eventually(t, 10*time.Second, func() bool {
		var r health.Report
		if err := json.Unmarshal([]byte(fetch(t, b.AdminAddr, "/readyz")), &r); err != nil {
			return false
		}
		reason = component(r, health.NATS).Reason
		return strings.HasPrefix(reason, want)
	}, "/readyz's nats reason never said %q (last %q)", want, lazy(func() string { return reason }))
	testkit.Eventually(t, 5*time.Second, func() bool {
		return logged.Contains(`"nats":"` + url + `","cause":"connection refused`)
	}, "the log never named %s and the refused connection", url)
}
