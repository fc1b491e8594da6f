package playbook

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tansa-sec/tansa/internal/playbook/edr"
	"github.com/tansa-sec/tansa/internal/playbook/notify"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// ConnectorKind describes one kind of connector: its settings and the
// secret fields that are sealed and never shown again.
type ConnectorKind struct {
	Kind    string   `json:"kind"`
	Purpose string   `json:"purpose"` // edr, notify or webhook
	Config  []string `json:"config"`
	Secrets []string `json:"secrets"`
}

// ConnectorKinds lists the connectors a tenant can configure.
var ConnectorKinds = []ConnectorKind{
	{"defender", "edr", []string{"base_url", "token_url", "tenant_id", "client_id"}, []string{"client_secret"}},
	{"crowdstrike", "edr", []string{"base_url", "client_id"}, []string{"client_secret"}},
	{"carbonblack", "edr", []string{"base_url", "org_key", "api_id"}, []string{"api_secret"}},
	{"smtp", "notify", []string{"host", "port", "starttls", "username", "from", "to", "language", "ca_pem"}, []string{"password"}},
	{"slack", "notify", []string{"language"}, []string{"url"}},
	{"teams", "notify", []string{"language"}, []string{"url"}},
	{"webhook", "webhook", []string{"url"}, []string{"hmac_secret", "authorization"}},
}

func connectorKind(kind string) (ConnectorKind, bool) {
	i := slices.IndexFunc(ConnectorKinds, func(k ConnectorKind) bool { return k.Kind == kind })
	if i < 0 {
		return ConnectorKind{}, false
	}
	return ConnectorKinds[i], true
}

var connectorName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// validateConnector checks a connector's name, kind and fields.
func validateConnector(name, kind string, config, secrets map[string]string) error {
	if !connectorName.MatchString(name) {
		return tansa.Errorf(tansa.Invalid, "name: %q must be lower-case letters, digits, - and _", name)
	}
	k, ok := connectorKind(kind)
	if !ok {
		kinds := make([]string, len(ConnectorKinds))
		for i, k := range ConnectorKinds {
			kinds[i] = k.Kind
		}
		return tansa.Errorf(tansa.Invalid, "kind: %q is not one of %s", kind, strings.Join(kinds, ", "))
	}
	for f := range config {
		if !slices.Contains(k.Config, f) {
			return tansa.Errorf(tansa.Invalid, "config.%s: not a setting of %s (settings: %s)", f, kind, strings.Join(k.Config, ", "))
		}
	}
	for f := range secrets {
		if !slices.Contains(k.Secrets, f) {
			return tansa.Errorf(tansa.Invalid, "secrets.%s: not a secret of %s (secrets: %s)", f, kind, strings.Join(k.Secrets, ", "))
		}
	}
	for _, f := range []string{"base_url", "token_url", "url"} {
		if u := config[f]; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return tansa.Errorf(tansa.Invalid, "config.%s: %q must be an http(s) URL", f, u)
		}
	}
	if l := config["language"]; l != "" && l != "ja" && l != "en" {
		return tansa.Errorf(tansa.Invalid, "config.language: must be ja or en")
	}
	if kind == "smtp" {
		if _, err := smtpConfig(config, secrets, nil); err != nil {
			return err
		}
	}
	return nil
}

func smtpConfig(config, secrets map[string]string, tc *tls.Config) (notify.SMTPConfig, error) {
	port := 0
	if p := config["port"]; p != "" {
		var err error
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return notify.SMTPConfig{}, tansa.Errorf(tansa.Invalid, "config.port: %q is not a port", p)
		}
	}
	var to []string
	for _, t := range strings.Split(config["to"], ",") {
		if t = strings.TrimSpace(t); t != "" {
			to = append(to, t)
		}
	}
	if pemCA := config["ca_pem"]; pemCA != "" && tc == nil {
		// A private CA (or a self-signed server certificate) to trust for
		// STARTTLS instead of the system's roots.
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(pemCA)) {
			return notify.SMTPConfig{}, tansa.Errorf(tansa.Invalid, "config.ca_pem: no PEM certificate in it")
		}
		tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	cfg := notify.SMTPConfig{Host: config["host"], Port: port, StartTLS: config["starttls"], Username: config["username"],
		Password: secrets["password"], From: config["from"], To: to, TLS: tc}
	return cfg, cfg.Validate()
}

// openEDR builds the EDR client of a connector.
func openEDR(c Connector, secrets map[string]string, hc *http.Client) (edr.Client, error) {
	cfg := c.Config
	switch c.Kind {
	case "defender":
		return edr.NewDefender(edr.DefenderConfig{BaseURL: cfg["base_url"], TokenURL: cfg["token_url"], TenantID: cfg["tenant_id"],
			ClientID: cfg["client_id"], ClientSecret: secrets["client_secret"]}, hc)
	case "crowdstrike":
		return edr.NewCrowdStrike(edr.CrowdStrikeConfig{BaseURL: cfg["base_url"], ClientID: cfg["client_id"], ClientSecret: secrets["client_secret"]}, hc)
	case "carbonblack":
		return edr.NewCarbonBlack(edr.CarbonBlackConfig{BaseURL: cfg["base_url"], OrgKey: cfg["org_key"], APIID: cfg["api_id"], APISecret: secrets["api_secret"]}, hc)
	}
	return nil, tansa.Errorf(tansa.Invalid, "connector %q is a %s connector, not an EDR", c.Name, c.Kind)
}

func purposeOf(kind string) string {
	k, _ := connectorKind(kind)
	return k.Purpose
}

func wrongPurpose(c Connector, want string) error {
	return tansa.Errorf(tansa.Invalid, "connector %q is a %s connector; this step needs a %s one", c.Name, c.Kind, want)
}
