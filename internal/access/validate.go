package access

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tansa-sec/tansa/internal/tansa"
)

var (
	countryRE  = regexp.MustCompile(`^[A-Z]{2}$`)
	usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)
)

// Languages are the console's languages.
var Languages = []string{"en", "ja"}

func checkText(field, v string, min, max int) error {
	n := utf8.RuneCountInString(v)
	if !utf8.ValidString(v) {
		return tansa.Errorf(tansa.Invalid, "%s: not valid UTF-8", field)
	}
	if n < min {
		if min == 1 {
			return tansa.Errorf(tansa.Invalid, "%s: required", field)
		}
		return tansa.Errorf(tansa.Invalid, "%s: at least %d characters", field, min)
	}
	if n > max {
		return tansa.Errorf(tansa.Invalid, "%s: at most %d characters (got %d)", field, max, n)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return tansa.Errorf(tansa.Invalid, "%s: control characters are not allowed", field)
		}
	}
	return nil
}

func checkLanguage(field, v string, optional bool) error {
	if v == "" && optional {
		return nil
	}
	for _, l := range Languages {
		if v == l {
			return nil
		}
	}
	return tansa.Errorf(tansa.Invalid, "%s: %q is not one of en, ja", field, v)
}

func checkTimeZone(field, v string, optional bool) error {
	if v == "" && optional {
		return nil
	}
	if v == "" || strings.ContainsAny(v, "\\") || strings.HasPrefix(v, "/") || strings.Contains(v, "..") {
		return tansa.Errorf(tansa.Invalid, "%s: %q is not an IANA time zone name", field, v)
	}
	if _, err := time.LoadLocation(v); err != nil {
		return tansa.Errorf(tansa.Invalid, "%s: %q is not an IANA time zone name", field, v)
	}
	return nil
}

func checkEmail(field, v string, optional bool) error {
	if v == "" && optional {
		return nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return tansa.Errorf(tansa.Invalid, "%s: %q is not an e-mail address", field, v)
	}
	return checkText(field, v, 3, 254)
}

func checkContacts(cs []tansa.Contact) error {
	if len(cs) > 20 {
		return tansa.Errorf(tansa.Invalid, "contacts: at most 20 (got %d)", len(cs))
	}
	for i, c := range cs {
		f := func(name string) string { return "contacts[" + strconv.Itoa(i) + "]." + name }
		if err := checkText(f("name"), c.Name, 1, 200); err != nil {
			return err
		}
		if err := checkEmail(f("email"), c.Email, true); err != nil {
			return err
		}
		if err := checkText(f("phone"), c.Phone, 0, 50); err != nil {
			return err
		}
		if err := checkText(f("role"), c.Role, 0, 100); err != nil {
			return err
		}
	}
	return nil
}

func checkPassword(p string) error {
	if utf8.RuneCountInString(p) < 12 {
		return tansa.Errorf(tansa.Invalid, "password: at least 12 characters")
	}
	if len(p) > 1024 {
		return tansa.Errorf(tansa.Invalid, "password: at most 1024 bytes")
	}
	return nil
}
