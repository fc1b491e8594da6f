// Package o365 parses Microsoft cloud audit records: Office 365 Unified
// Audit Log records (the Office 365 Management Activity API's common schema
// and its workload extensions) and Entra ID (Azure AD) sign-in records, both
// Microsoft Graph's signIn resource and the Azure Monitor "SignInLogs"
// diagnostic form.
//
// A record enters as one JSON object (Wazuh's {"integration":"office365",
// "office365":{…}} envelope is opened) and leaves as fields added to a
// *tansa.Event: every Microsoft field under its documented name, nested
// names dotted ("status.errorCode", "deviceDetail.operatingSystem"), plus
// ECS names ("event.action" ← Operation, "user.name" ← UserId or
// userPrincipalName, "source.ip" ← ClientIP or ipAddress…). These are the
// fields for "logins that should not happen" and "one user downloading a
// mountain of files".
package o365

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/normalize/jsonflat"
	"github.com/tansa-sec/tansa/internal/tansa"
)

// The formats this package stores in Event.Format.
const (
	Audit  = "o365"
	SignIn = "entra_signin"
)

// Detect returns Audit or SignIn when line is one of their JSON records,
// or "".
func Detect(line string) string {
	if !strings.HasPrefix(line, "{") {
		return ""
	}
	switch {
	case strings.Contains(line, `"CreationTime"`) && (strings.Contains(line, `"Operation"`) || strings.Contains(line, `"RecordType"`)):
		return Audit
	case strings.Contains(line, `"userPrincipalName"`) && strings.Contains(line, `"createdDateTime"`),
		strings.Contains(line, `"category":"SignInLogs"`), strings.Contains(line, `"category": "SignInLogs"`):
		return SignIn
	}
	return ""
}

// Parse parses an Office 365 audit record or an Entra ID sign-in, as Detect
// classifies it, adds its fields to ev.Fields and sets ev.Format and
// ev.Time. Invalid JSON is an error naming the byte offset.
func Parse(line string, ev *tansa.Event) error {
	switch Detect(line) {
	case Audit:
		return ParseAudit(line, ev)
	case SignIn:
		return ParseSignIn(line, ev)
	}
	ev.Format = Audit
	return fmt.Errorf("o365: neither an audit record nor a sign-in [col 0]")
}

// ParseAudit parses one Unified Audit Log record.
func ParseAudit(line string, ev *tansa.Event) error {
	ev.Format = Audit
	f := ev.Fields
	data, err := unwrap(line, f)
	if err != nil {
		return fmt.Errorf("o365: %w", err)
	}
	if err := jsonflat.Flatten(data, "", f); err != nil {
		return fmt.Errorf("o365: %w", err)
	}
	f["observer.vendor"] = "Microsoft"
	f["observer.product"] = "Office 365"
	str := func(k string) string { s, _ := f[k].(string); return s }
	if s := str("Operation"); s != "" {
		f["event.action"] = s
	}
	if s := str("Workload"); s != "" {
		f["event.provider"] = s
	}
	switch rt := f["RecordType"].(type) {
	case int64:
		f["event.code"] = strconv.FormatInt(rt, 10)
	case string:
		f["event.code"] = rt
	}
	if s := str("OrganizationId"); s != "" {
		f["organization.id"] = s
	}
	if s := str("UserId"); s != "" {
		f["user.name"] = s
		if strings.Contains(s, "@") {
			f["user.email"] = s
		}
	}
	if s := str("UserKey"); s != "" {
		f["user.id"] = s
	}
	for _, k := range [...]string{"ClientIP", "ClientIPAddress", "ActorIpAddress"} {
		if a, ok := ip(str(k)); ok {
			f["source.ip"] = a
			break
		}
	}
	switch strings.ToLower(str("ResultStatus")) {
	case "succeeded", "success", "true", "partiallysucceeded":
		f["event.outcome"] = "success"
	case "failed", "failure", "false":
		f["event.outcome"] = "failure"
	}
	if str("Operation") == "UserLoginFailed" {
		// Entra ID writes ResultStatus "Success" on failed logins: the
		// logging succeeded, the login did not.
		f["event.outcome"] = "failure"
	}
	if s := str("LogonError"); s != "" {
		f["event.reason"] = s
	}
	if s := str("ExtendedProperties.UserAgent"); s != "" {
		f["user_agent.original"] = s
	}
	if s := str("MailboxOwnerUPN"); s != "" {
		f["user.target.name"] = s
	}
	if s := str("UserAgent"); s != "" {
		f["user_agent.original"] = s
	}
	if s := str("SourceFileName"); s != "" {
		f["file.name"] = s
	}
	if s := str("SourceRelativeUrl"); s != "" {
		f["file.directory"] = s
	}
	if s := str("ObjectId"); strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		f["url.full"] = s
		if h := host(s); h != "" {
			f["url.domain"] = h
		}
	}
	if s := str("CreationTime"); s != "" {
		// The common schema writes UTC without a zone designator.
		if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
			ev.Time = t
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			ev.Time = t
		}
	}
	return nil
}

// ParseSignIn parses one Entra ID sign-in record: Graph's signIn resource,
// or the Azure Monitor diagnostic record whose "properties" hold it (those
// fields stay under "properties.").
func ParseSignIn(line string, ev *tansa.Event) error {
	ev.Format = SignIn
	f := ev.Fields
	if err := jsonflat.Flatten(line, "", f); err != nil {
		return fmt.Errorf("entra_signin: %w", err)
	}
	f["observer.vendor"] = "Microsoft"
	f["observer.product"] = "Entra ID"
	f["event.category"] = "authentication"
	f["event.action"] = "sign-in"
	p := ""
	if _, ok := f["properties.userPrincipalName"]; ok {
		p = "properties."
	}
	str := func(k string) string { s, _ := f[p+k].(string); return s }
	if s := str("userPrincipalName"); s != "" {
		f["user.name"] = s
		if strings.Contains(s, "@") {
			f["user.email"] = s
		}
	}
	if s := str("userId"); s != "" {
		f["user.id"] = s
	}
	if s := str("userDisplayName"); s != "" {
		f["user.full_name"] = s
	}
	if a, ok := ip(str("ipAddress")); ok {
		f["source.ip"] = a
	} else if a, ok := ip(str("callerIpAddress")); ok {
		f["source.ip"] = a
	}
	if s := str("location.city"); s != "" {
		f["source.geo.city_name"] = s
	}
	if s := str("location.countryOrRegion"); s != "" {
		f["source.geo.country_iso_code"] = s
	}
	if s := str("deviceDetail.displayName"); s != "" {
		f["host.name"] = s
	}
	if s := str("deviceDetail.operatingSystem"); s != "" {
		f["host.os.name"] = s
	}
	if s := str("appDisplayName"); s != "" {
		f["service.name"] = s
	}
	if s := str("userAgent"); s != "" {
		f["user_agent.original"] = s
	}
	code, ok := f[p+"status.errorCode"].(int64)
	if !ok {
		if s, isStr := f[p+"status.errorCode"].(string); isStr {
			code, _ = strconv.ParseInt(s, 10, 64)
			ok = true
		}
	}
	if ok {
		f["event.code"] = strconv.FormatInt(code, 10)
		if code == 0 {
			f["event.outcome"] = "success"
		} else {
			f["event.outcome"] = "failure"
		}
	}
	if s := str("status.failureReason"); s != "" {
		f["event.reason"] = s
	}
	for _, k := range [...]string{p + "createdDateTime", "time"} {
		if s, _ := f[k].(string); s != "" {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				ev.Time = t
				break
			}
		}
	}
	return nil
}

// unwrap returns the inner record of Wazuh's {"integration":"office365",
// "office365":{…}} envelope, recording the integration name, or doc itself.
func unwrap(doc string, f map[string]any) (string, error) {
	if !strings.HasPrefix(doc, `{"integration"`) {
		return doc, nil
	}
	inner, ok, err := jsonflat.Member(doc, "office365")
	if err != nil {
		return "", fmt.Errorf("envelope: %w", err)
	}
	if !ok {
		return "", errors.New(`envelope has no "office365" member`)
	}
	f["integration"] = "office365"
	return inner, nil
}

// ip returns the canonical form of an address as Microsoft writes it:
// "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443" or "2001:db8::1".
func ip(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().String(), true
	}
	return "", false
}

func host(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest, "]") {
		rest = rest[:i]
	}
	return strings.ToLower(rest)
}
