package importer

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/intel"
)

// tansaNamespace makes DeterministicID's UUIDs Tansa's own.
var tansaNamespace = uuid.MustParse("6f1c6a52-0d1e-5c1b-9a43-7e5a3f0b2c11")

// DeterministicID returns a STIX indicator id derived from tenant, type and
// value (a UUIDv5), so re-importing or re-exporting the same indicator
// always yields the same id.
func DeterministicID(tenant string, t intel.Type, value string) string {
	return "indicator--" + uuid.NewSHA1(tansaNamespace, []byte(tenant+"\x00"+string(t)+"\x00"+value)).String()
}

// lokiScore matches the score field of LOKI/signature-base lines
// ("regex;score" or "regex;score;false-positive-regex").
var lokiScore = regexp.MustCompile(`^[0-9]{1,3}$`)

// text imports a plain list: one value per line; "#" starts a comment line
// whose text becomes the description of the values below it (as in
// signature-base's c2-iocs.txt); "value<TAB or space>count" lines (ipsum)
// set confidence from the number of lists; "value;comment" lines
// (signature-base hash-iocs.txt) keep the comment; "regex;score[;fp]"
// lines (signature-base filename-iocs.txt) become filename regular
// expressions with the score as confidence.
func (r *run) text(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	heading := ""
	n := 0
	for sc.Scan() {
		n++
		if n%4096 == 0 {
			if err := r.ctx.Err(); err != nil {
				return errCancelled(err)
			}
		}
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" {
			heading = ""
			continue
		}
		if line[0] == '#' || strings.HasPrefix(line, "//") {
			h := strings.TrimSpace(strings.TrimLeft(line, "#/ "))
			if h != "" && !strings.HasPrefix(strings.ToUpper(h), "FORMAT") && !strings.Contains(h, "----") {
				heading = h
			}
			continue
		}
		r.res.Items++
		item := position("line", n-1) + ": " + line
		r.textLine(item, line, heading)
	}
	if err := sc.Err(); err != nil {
		r.reject(position("line", n), "line longer than 1 MiB: "+err.Error())
	}
	return nil
}

func (r *run) textLine(item, line, heading string) {
	ind := intel.Indicator{Context: intel.Context{Description: heading}}
	value := line
	if semi := strings.IndexByte(line, ';'); semi > 0 {
		value = line[:semi]
		rest := strings.Split(line[semi+1:], ";")
		if lokiScore.MatchString(strings.TrimSpace(rest[0])) {
			score, _ := strconv.Atoi(strings.TrimSpace(rest[0]))
			ind.Confidence = min(score, 100)
			if c := strings.TrimSpace(strings.Join(rest[1:], ";")); c != "" {
				ind.Context.Description = c
			}
			if !isPathRegex(value) {
				// "hash;score;comment" or "c2;score" (signature-base).
				t, v, err := intel.Guess(value)
				if err != nil {
					r.reject(item, err.Error())
					return
				}
				ind.Type, ind.Value = t, v
				r.emit(item, ind)
				return
			}
			ind.Context.Description = ""
			if _, err := regexp.Compile(value); err != nil {
				r.reject(item, "filename regular expression: "+err.Error())
				return
			}
			ind.Type = intel.TypeFilename
			ind.Value = value
			ind.Tags = []string{"regex"}
			r.emit(item, ind)
			return
		}
		if c := strings.TrimSpace(strings.Join(rest, ";")); c != "" {
			ind.Context.Description = c
		}
	} else if f := strings.Fields(line); len(f) == 2 {
		if count, err := strconv.Atoi(f[1]); err == nil && count > 0 {
			value = f[0]
			// ipsum: the number of blacklists naming the address. Ten or
			// more lists is as sure as a public list gets.
			ind.Confidence = min(count*10, 100)
			ind.Tags = []string{"lists:" + f[1]}
		}
	} else if i := strings.IndexAny(line, " \t"); i > 0 && !strings.HasPrefix(strings.ToUpper(line), "HK") {
		// "value  trailing comment"
		value = line[:i]
		ind.Context.Description = strings.TrimSpace(strings.TrimLeft(line[i:], " \t#"))
	}
	t, v, err := intel.Guess(strings.TrimSpace(value))
	if err != nil {
		r.reject(item, err.Error())
		return
	}
	ind.Type, ind.Value = t, v
	r.emit(item, ind)
}

// isPathRegex tells a LOKI filename expression ("\\evil\.exe;75",
// "/Library/Scripts/queue;70") from a hash or C2 value with a score: the
// expressions escape characters, use regex operators or are absolute paths.
func isPathRegex(v string) bool {
	return strings.ContainsAny(v, `\^$()[]|*+?`) || strings.HasPrefix(v, "/")
}
