// Package tansa holds the domain's nouns — tenants, principals, users,
// tokens, audit entries, events — and the error kinds every layer shares.
//
// It imports nothing outside the standard library. Data enters it from every
// stage of the pipeline and leaves it unchanged: the package defines shapes
// and small invariants (role names, ID formats, validation), never storage
// or transport.
package tansa
