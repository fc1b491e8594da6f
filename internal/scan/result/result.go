// Package result defines the document that one endpoint sweep produces.
//
// The collectors in package collect fill a Result, package heuristics adds
// Findings to it, and package scan encodes it as JSON (schema documented in
// docs/scan-result.md). The package has no behaviour beyond small helpers
// so that the server can import it to decode uploads without pulling in
// any collector code.
package result

import (
	"fmt"
	"time"
)

// SchemaVersion identifies the layout of Result; it changes when a field is
// renamed or removed, never when one is added.
const SchemaVersion = 1

// Result is one sweep of one endpoint. Slices are never nil after
// (*Result).Normalize so that consumers always see JSON arrays.
type Result struct {
	Schema   int       `json:"schema"`
	SweepID  string    `json:"sweep_id"`
	Scanner  string    `json:"scanner"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Tenant and Campaign come from the scan package's configuration; the
	// server refuses a result whose tenant is not its enrolment token's.
	Tenant   string `json:"tenant,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	// Excepted counts findings dropped because a reviewer marked the same
	// finding benign before (the package's exceptions).
	Excepted    int           `json:"excepted,omitempty"`
	Host        Host          `json:"host"`
	Processes   []Process     `json:"processes"`
	Connections []Connection  `json:"connections"`
	Persistence []Persistence `json:"persistence"`
	Software    []Software    `json:"software"`
	Files       []File        `json:"files"`
	DNS         []DNSEntry    `json:"dns"`
	Findings    []Finding     `json:"findings"`
	Errors      []Error       `json:"errors"`
}

// Host holds facts about the machine itself.
type Host struct {
	Hostname string    `json:"hostname"`
	OS       string    `json:"os"`
	Arch     string    `json:"arch"`
	Product  string    `json:"product,omitempty"`
	Version  string    `json:"version,omitempty"`
	Build    string    `json:"build,omitempty"`
	Kernel   string    `json:"kernel,omitempty"`
	Locale   string    `json:"locale,omitempty"`
	Domain   string    `json:"domain,omitempty"`
	Users    []string  `json:"users"`
	BootTime time.Time `json:"boot_time,omitzero"`
	Uptime   int64     `json:"uptime_seconds,omitempty"`
	IPs      []string  `json:"ips"`
	Elevated bool      `json:"elevated"`
}

// Process is one running process. Path is empty when the scanner could not
// read it; Deleted reports a Linux executable whose file was unlinked.
type Process struct {
	PID         int       `json:"pid"`
	PPID        int       `json:"ppid"`
	Name        string    `json:"name"`
	Path        string    `json:"path,omitempty"`
	CommandLine string    `json:"cmdline,omitempty"`
	User        string    `json:"user,omitempty"`
	Started     time.Time `json:"started,omitzero"`
	SHA256      string    `json:"sha256,omitempty"`
	Deleted     bool      `json:"deleted,omitempty"`
	// Signed reports, on Windows, whether the executable carries a valid
	// Authenticode signature (embedded or by catalogue); it is absent
	// where the scanner does not check signatures.
	Signed *bool `json:"signed,omitempty"`
	// Modules lists loaded libraries outside the operating system's own
	// library directories; ModuleCount counts all of them. Keeping only the
	// unusual ones keeps a typical result small.
	Modules     []string `json:"modules,omitempty"`
	ModuleCount int      `json:"module_count,omitempty"`
}

// Connection is one socket: a listener when State is "LISTEN" (TCP) or
// RemoteAddr is empty (UDP). PID is 0 when the owner was not visible.
type Connection struct {
	Protocol   string `json:"proto"`
	LocalAddr  string `json:"local_addr"`
	LocalPort  int    `json:"local_port"`
	RemoteAddr string `json:"remote_addr,omitempty"`
	RemotePort int    `json:"remote_port,omitempty"`
	State      string `json:"state,omitempty"`
	PID        int    `json:"pid,omitempty"`
	Process    string `json:"process,omitempty"`
}

// Listening reports whether c accepts connections rather than making them.
func (c Connection) Listening() bool {
	return c.State == "LISTEN" || (c.Protocol != "tcp" && c.Protocol != "tcp6" && c.RemoteAddr == "")
}

// Persistence is one mechanism that starts code automatically: a service,
// a scheduled task, a cron line, a Run key value, a launch agent, a shell
// profile line. Location says where it was found (file path or registry
// key); Command is what it runs, as written.
type Persistence struct {
	Kind     string    `json:"kind"`
	Name     string    `json:"name,omitempty"`
	Location string    `json:"location"`
	Command  string    `json:"command,omitempty"`
	User     string    `json:"user,omitempty"`
	Enabled  *bool     `json:"enabled,omitempty"`
	Modified time.Time `json:"modified,omitzero"`
}

// Software is one installed package or application.
type Software struct {
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	Arch      string `json:"arch,omitempty"`
	Source    string `json:"source"`
	Installed string `json:"installed,omitempty"`
}

// File is a file of interest: recently created in a temporary, download or
// trash folder, a Prefetch entry, or a file named by an IOC.
type File struct {
	Path     string    `json:"path"`
	Kind     string    `json:"kind"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified,omitzero"`
	// Created is when the file appeared on this disk: its creation time on
	// Windows and macOS, its inode change time on Linux. A file unpacked
	// from an archive or copied keeps an old Modified but gets a new Created.
	Created time.Time `json:"created,omitzero"`
	SHA256  string    `json:"sha256,omitempty"`
	// Executable reports an ELF, PE or Mach-O header, whatever the name.
	Executable   bool   `json:"executable,omitempty"`
	Signed       *bool  `json:"signed,omitempty"`
	OriginalPath string `json:"original_path,omitempty"`
}

// DNSEntry is a name resolution the host knows about: a hosts-file line
// (Source "hosts") or a resolver cache entry (Source "cache").
type DNSEntry struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"`
	Source  string `json:"source"`
}

// Finding is something the scanner judged suspicious. Message is English;
// MessageKey and Args carry the same sentence in a form the server can
// translate (the key names a template, Args fill its {placeholders}).
type Finding struct {
	Rule       string            `json:"rule"`
	Score      int               `json:"score"`
	Severity   string            `json:"severity"`
	Message    string            `json:"message"`
	MessageKey string            `json:"message_key"`
	Args       map[string]string `json:"args"`
	Subject    Subject           `json:"subject"`
	ATTACK     []string          `json:"attack,omitempty"`
}

// Key identifies a finding across sweeps and endpoints: its rule and what
// it is about, without the process ID, which changes every boot. Reviews
// and exceptions are attached to keys.
func (f Finding) Key() string {
	return f.Rule + "|" + f.Subject.Kind + "|" + f.Subject.Path + "|" + f.Subject.Ref
}

// Exception is a finding key a reviewer marked benign; the scanner drops
// findings with that key.
type Exception struct {
	Key    string `json:"key"`
	Reason string `json:"reason,omitempty"`
}

// Subject points from a Finding to the record it is about.
type Subject struct {
	Kind string `json:"kind"`
	PID  int    `json:"pid,omitempty"`
	Path string `json:"path,omitempty"`
	Ref  string `json:"ref,omitempty"`
}

// Error records something the scanner could not see and why. Collector is
// the area ("processes", "persistence/cron"); Target the file, key or pid.
type Error struct {
	Collector string `json:"collector"`
	Target    string `json:"target,omitempty"`
	Message   string `json:"message"`
}

// Severity returns the severity word for a 0–100 score: "critical" from 90,
// "high" from 70, "medium" from 40, "low" from 20, else "info".
func Severity(score int) string {
	switch {
	case score >= 90:
		return "critical"
	case score >= 70:
		return "high"
	case score >= 40:
		return "medium"
	case score >= 20:
		return "low"
	}
	return "info"
}

// Errorf appends an Error to r.
func (r *Result) Errorf(collector, target, format string, args ...any) {
	r.Errors = append(r.Errors, Error{Collector: collector, Target: target, Message: fmt.Sprintf(format, args...)})
}

// Normalize replaces nil slices with empty ones so that the JSON document
// always has every top-level key as an array.
func (r *Result) Normalize() {
	if r.Host.Users == nil {
		r.Host.Users = []string{}
	}
	if r.Host.IPs == nil {
		r.Host.IPs = []string{}
	}
	if r.Processes == nil {
		r.Processes = []Process{}
	}
	if r.Connections == nil {
		r.Connections = []Connection{}
	}
	if r.Persistence == nil {
		r.Persistence = []Persistence{}
	}
	if r.Software == nil {
		r.Software = []Software{}
	}
	if r.Files == nil {
		r.Files = []File{}
	}
	if r.DNS == nil {
		r.DNS = []DNSEntry{}
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Errors == nil {
		r.Errors = []Error{}
	}
}

// NewFinding returns a Finding whose Message is template with each
// {name} replaced by args[name], and whose MessageKey and Args keep the
// parts so that the sentence can be rendered in another language.
func NewFinding(rule string, score int, key, template string, args map[string]string, subject Subject, attack ...string) Finding {
	return Finding{
		Rule: rule, Score: score, Severity: Severity(score),
		Message: Expand(template, args), MessageKey: key, Args: args,
		Subject: subject, ATTACK: attack,
	}
}

// Expand replaces each {name} in template with args[name]; unknown names
// are left as written.
func Expand(template string, args map[string]string) string {
	var b []byte
	for i := 0; i < len(template); i++ {
		if template[i] == '{' {
			if j := indexByteFrom(template, '}', i); j > i {
				if v, ok := args[template[i+1:j]]; ok {
					b = append(b, v...)
					i = j
					continue
				}
			}
		}
		b = append(b, template[i])
	}
	return string(b)
}

func indexByteFrom(s string, c byte, from int) int {
	for j := from; j < len(s); j++ {
		if s[j] == c {
			return j
		}
	}
	return -1
}
