package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/intel"
)

// headerAliases maps normalised CSV header names to fields.
var headerAliases = map[string]string{
	"value": "value", "indicator": "value", "ioc": "value", "ioc_value": "value", "observable": "value",
	"ip": "value", "ip_address": "value", "dst_ip": "value", "domain": "value", "hostname": "value",
	"url": "value", "hash": "value", "md5": "value", "sha1": "value", "sha256": "value", "email": "value",
	"type": "type", "ioc_type": "type", "indicator_type": "type", "kind": "type",
	"confidence": "confidence", "confidence_level": "confidence", "score": "confidence",
	"tlp": "tlp", "tags": "tags", "tag": "tags", "labels": "tags",
	"first_seen": "first_seen", "first_seen_utc": "first_seen", "firstseen": "first_seen", "dateadded": "first_seen", "date_added": "first_seen",
	"last_seen": "last_seen", "last_seen_utc": "last_seen", "lastseen": "last_seen", "last_online": "last_seen",
	"valid_until": "valid_until", "expiration": "valid_until", "expires": "valid_until",
	"description": "description", "comment": "description", "comments": "description", "reference": "description",
	"threat_actor": "threat_actor", "actor": "threat_actor",
	"campaign": "campaign",
	"malware":  "malware", "malware_family": "malware", "malware_printable": "malware", "family": "malware", "threat": "malware", "threat_type": "tags",
	"technique": "technique", "attack_id": "technique", "mitre_attack": "technique",
}

func normHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(strings.Trim(strings.TrimSpace(s), `"#`)))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(s)
}

// sniffDelimiter picks the delimiter that splits the first data lines into
// the same number (≥ 2) of fields.
func sniffDelimiter(lines []string) rune {
	best, bestN := rune(0), 0
	for _, d := range []rune{',', ';', '\t', '|'} {
		n := -1
		for _, l := range lines {
			c := strings.Count(l, string(d))
			if c == 0 || (n >= 0 && c != n) {
				n = -2
				break
			}
			n = c
		}
		if n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

func dataLines(t []byte, max int) []string {
	var out []string
	for _, l := range strings.Split(string(t[:min(len(t), 1<<16)]), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		out = append(out, l)
		if len(out) == max {
			break
		}
	}
	return out
}

func looksLikeCSV(t []byte) bool {
	lines := dataLines(t, 5)
	if len(lines) == 0 {
		return false
	}
	d := sniffDelimiter(lines)
	if d == 0 {
		return false
	}
	if isHeader(strings.Split(lines[0], string(d)), nil) {
		return true
	}
	// signature-base "value;comment" and ipsum "ip<TAB>count" files are
	// plain lists with a comment or count column, not tables.
	return len(lines) >= 2 && d == ','
}

func isHeader(cells []string, extra map[string]string) bool {
	for _, c := range cells {
		h := normHeader(c)
		if _, ok := headerAliases[h]; ok {
			return true
		}
		if _, ok := extra[h]; ok {
			return true
		}
	}
	return false
}

// csv imports a delimited table. A first row naming known columns is a
// header (see Options.Columns); abuse.ch-style "# header" comment rows are
// recognised too. Without a header each row's first cell that parses as an
// indicator is the value and the rest is description.
func (r *run) csv(data []byte) error {
	lines := dataLines(data, 5)
	delim := sniffDelimiter(lines)
	if delim == 0 {
		delim = ','
	}
	// abuse.ch exports put the header in the last comment line before data.
	var commentHeader []string
	for _, l := range strings.Split(string(data[:min(len(data), 1<<16)]), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if l[0] != '#' {
			break
		}
		cells := strings.Split(strings.TrimLeft(l, "# "), string(delim))
		if len(cells) > 1 && isHeader(cells, r.opts.Columns) {
			commentHeader = cells
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = delim
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	var cols []string // field per column; nil until a header is known
	if commentHeader != nil {
		cols = r.mapHeader(commentHeader)
	}
	row := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		row++
		if row%4096 == 0 {
			if err := r.ctx.Err(); err != nil {
				return errCancelled(err)
			}
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				r.res.Items++
				r.reject(position("row", row-1), pe.Error())
				continue
			}
			return err
		}
		if row == 1 && cols == nil && isHeader(rec, r.opts.Columns) {
			cols = r.mapHeader(rec)
			continue
		}
		r.res.Items++
		r.csvRow(position("row", row-1)+": "+strings.Join(rec, string(delim)), rec, cols)
	}
}

func (r *run) mapHeader(rec []string) []string {
	cols := make([]string, len(rec))
	for i, c := range rec {
		h := normHeader(c)
		if f, ok := r.opts.Columns[h]; ok {
			cols[i] = f
		} else {
			cols[i] = headerAliases[h]
		}
	}
	// Several columns may alias "value" (an abuse.ch row has ioc_value and
	// reference URLs); the first wins and the rest become description.
	seen := map[string]bool{}
	for i, f := range cols {
		if f == "value" && seen[f] {
			cols[i] = ""
		}
		seen[f] = true
	}
	return cols
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02 15:04:05 MST", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).UTC()
	}
	return time.Time{}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *run) csvRow(item string, rec []string, cols []string) {
	var ind intel.Indicator
	var value, typ string
	var desc []string
	if cols == nil {
		at := -1
		for i, c := range rec {
			if _, _, err := intel.Guess(strings.TrimSpace(c)); err == nil {
				at = i
				break
			}
		}
		if at < 0 {
			r.reject(item, "no cell in the row is an IP, CIDR, URL, e-mail, hash or domain")
			return
		}
		for i, c := range rec {
			c = strings.TrimSpace(c)
			switch {
			case i == at:
				value = c
			case c != "":
				desc = append(desc, c)
			}
		}
	} else {
		for i, c := range rec {
			c = strings.TrimSpace(c)
			if i >= len(cols) || c == "" {
				continue
			}
			switch cols[i] {
			case "value":
				value = c
			case "type":
				typ = c
			case "confidence":
				if n, err := strconv.Atoi(strings.TrimSuffix(c, "%")); err == nil {
					ind.Confidence = n
				} else {
					r.reject(item, "confidence "+strconv.Quote(c)+" is not a number")
					return
				}
			case "tlp":
				t, err := intel.ParseTLP(c)
				if err != nil {
					r.reject(item, err.Error())
					return
				}
				ind.TLP = t
			case "tags":
				ind.Tags = append(ind.Tags, splitList(c)...)
			case "first_seen":
				ind.FirstSeen = parseTime(c)
			case "last_seen":
				ind.LastSeen = parseTime(c)
			case "valid_until":
				ind.ValidUntil = parseTime(c)
			case "threat_actor":
				ind.Context.ThreatActors = append(ind.Context.ThreatActors, splitList(c)...)
			case "campaign":
				ind.Context.Campaigns = append(ind.Context.Campaigns, splitList(c)...)
			case "malware":
				ind.Context.Malware = append(ind.Context.Malware, splitList(c)...)
			case "technique":
				ind.Techniques = append(ind.Techniques, splitList(c)...)
			default:
				desc = append(desc, c)
			}
		}
	}
	ind.Context.Description = strings.Join(desc, "; ")
	if value == "" {
		r.reject(item, "no indicator value in row")
		return
	}
	if typ != "" {
		t, err := intel.ParseType(typ)
		if err != nil {
			// A type column like "botnet_cc" names a threat, not a value
			// type (abuse.ch): keep it as a tag and guess the type.
			ind.Tags = append(ind.Tags, typ)
		} else {
			ind.Type, ind.Value = t, value
			if t == intel.TypeIPv4 || t == intel.TypeIPv6 {
				// "ip:port" values are common in C2 lists.
				if h, _, ok := strings.Cut(value, ":"); ok && t == intel.TypeIPv4 {
					ind.Value = h
				}
			}
			r.emit(item, ind)
			return
		}
	}
	if h, p, ok := strings.Cut(value, ":"); ok && strings.Count(value, ":") == 1 && isPort(p) {
		value = h
	}
	t, v, err := intel.Guess(value)
	if err != nil {
		r.reject(item, err.Error())
		return
	}
	ind.Type, ind.Value = t, v
	r.emit(item, ind)
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}
