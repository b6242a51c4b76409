package natsconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/nats-io/nats.go"
)

// Unreachable is why a connection to NATS failed: the address tried,
// without credentials, and the cause in plain words with what to check.
// Connect retries it until its context ends; a caller that gives up shows
// it as it is.
type Unreachable struct {
	Addr  string // NATS_URL as config.RedactURL shows it
	Cause string // connection refused, no such host, TLS, authorization, timeout, or the error itself
	Err   error
}

func (u *Unreachable) Error() string { return "NATS at " + u.Addr + " is not reachable: " + u.Cause }

func (u *Unreachable) Unwrap() error { return u.Err }

// cause words why connecting failed: the kind first (refused, no such
// host, TLS, authorization, timeout), then what to check. The detail
// names no credential: dial and TLS errors carry addresses only.
func cause(err error) string {
	var dns *net.DNSError
	var ne net.Error
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	switch {
	case errors.Is(err, nats.ErrAuthorization):
		return "authorization violation: the server refused the credentials; check NATS_USER and NATS_PASSWORD, NATS_TOKEN, NATS_CREDS or NATS_NKEY"
	case errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked), errors.Is(err, nats.ErrAccountAuthExpired):
		return "authorization: " + strings.TrimPrefix(err.Error(), "nats: ") + "; renew the credentials (NATS_CREDS, NATS_NKEY or NATS_TOKEN)"
	case errors.As(err, &dns) && dns.IsNotFound:
		return "no such host: " + dns.Name + " does not resolve; check the host in NATS_URL"
	case errors.As(err, &dns):
		return "DNS lookup of " + dns.Name + " failed (" + dns.Err + "); check the resolver and the host in NATS_URL"
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, nats.ErrNoServers):
		// nats.Connect answers ErrNoServers when the last server it
		// tried refused the connection.
		return "connection refused: nothing listens there; is NATS running, and is the port in NATS_URL right?"
	case errors.Is(err, nats.ErrSecureConnWanted):
		return "TLS: the server does not offer TLS; use nats:// or enable TLS on the server"
	case errors.Is(err, nats.ErrSecureConnRequired):
		return "TLS: the server requires TLS; use tls:// (and NATS_CA if its certificate is not publicly trusted)"
	case errors.As(err, &unknownCA):
		return "TLS: the server's certificate is not trusted (" + err.Error() + "); set NATS_CA to the CA that signed it"
	case errors.As(err, &hostname):
		return "TLS: the server's certificate is not for this host (" + err.Error() + "); use a host name it holds in NATS_URL"
	case errors.As(err, &invalid):
		return "TLS: the server's certificate is not valid (" + err.Error() + "); renew it on the server"
	case errors.As(err, &record), strings.Contains(err.Error(), "tls:"):
		return "TLS: the handshake failed (" + err.Error() + "); check NATS_CA, NATS_CERT and NATS_KEY and that the port speaks TLS"
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout: no NATS answer within %s; check firewalls, and that the port is NATS's client port", nats.DefaultTimeout)
	}
	return err.Error()
}
