// Package rules is Tansa's own Sigma rule pack: detection and correlation
// rules for what SigmaHQ lacks (Active Directory takeover chains, Office 365
// and Entra ID abuse), each file carrying the events that must and must not
// trigger it (see README.md). FS embeds the rule files so that the binary
// ships them.
package rules

import "embed"

// FS holds every rule file, under windows/ and cloud/.
//
//go:embed windows/*.yml cloud/*.yml
var FS embed.FS
