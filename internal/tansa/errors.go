package tansa

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that the edges (HTTP, CLI) can map it once.
type Kind int

// The error kinds. Internal is the zero value so that an unclassified error
// is never shown to a user as anything but an internal failure.
const (
	Internal         Kind = iota
	Invalid               // the input is malformed or breaks a rule; the message says what and where
	NotFound              // the object does not exist or is outside the caller's tenants
	Conflict              // the object already exists or changed underneath the caller
	Unauthorized          // no valid credentials
	Forbidden             // valid credentials, insufficient rights
	TooMany               // rate limit or lock-out
	Unavailable           // overloaded or shutting down; retry later
	TooLarge              // the input exceeds a size limit
	MethodNotAllowed      // the resource exists but does not take this method
)

var kindNames = [...]string{"internal", "invalid", "not_found", "conflict", "unauthorized", "forbidden", "too_many_requests", "unavailable", "too_large", "method_not_allowed"}

// String returns the kind's wire name, used as the API's error code.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "internal"
	}
	return kindNames[k]
}

// Error is an error with a kind and a message that is safe to show a user.
// Err, when set, is the underlying cause; it is logged but never shown.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Message
	case e.Message == "":
		return e.Err.Error()
	default:
		return e.Message + ": " + e.Err.Error()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k whose user-visible message is formatted
// from format and args. A %w verb wraps the cause as usual.
func Errorf(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Message: err.Error(), Err: errors.Unwrap(err)}
}

// KindOf reports the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// MessageOf returns the user-visible message of the first *Error in err's
// chain. Internal errors yield a generic message so that no internal detail
// leaks to a caller.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Message
	}
	return "internal error"
}
