// Package access decides who may do what: it owns tenants, users, API tokens,
// sessions and the audit log.
//
// Credentials enter through Login, SessionPrincipal and TokenPrincipal and
// leave as a Principal; every change enters through a Service method that
// takes the Caller making it and leaves as a stored object plus an audit
// entry written in the same transaction. Storage is behind Store, which the
// backends in internal/store implement.
package access
