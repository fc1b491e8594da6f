package sqlite

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Free text is indexed per chunk of 128 events, not per event: the
// full-text table holds one document per chunk listing the distinct words
// of its raw records, so a word that every firewall line repeats is
// indexed once per chunk, not once per event. The index therefore answers
// "which chunks may hold these words"; the words are then checked in the
// raw records of those chunks (matcher), which gives the exact answer.
// Both sides split text into words the way FTS5's unicode61 tokenizer does
// (letters, digits and private-use characters form words; everything else
// separates them; case is folded; diacritics are kept: the table is
// created with remove_diacritics 0), so the index never misses a chunk the
// check would accept.

// isWordRune reports whether r belongs to a word for unicode61.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r)
}

// span is one word of a tokenized text, as a range of the folded buffer.
type span struct{ lo, hi int32 }

// tokenize appends the case-folded words of s to buf and their ranges to
// spans.
func tokenize(buf []byte, spans []span, s []byte) ([]byte, []span) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				i++
				continue
			}
		} else if r, _ := utf8.DecodeRune(s[i:]); !isWordRune(r) {
			_, size := utf8.DecodeRune(s[i:])
			i += size
			continue
		}
		lo := len(buf)
		for i < len(s) {
			c := s[i]
			if c < utf8.RuneSelf {
				switch {
				case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
					buf = append(buf, c)
				case 'A' <= c && c <= 'Z':
					buf = append(buf, c+'a'-'A')
				default:
					goto end
				}
				i++
				continue
			}
			r, size := utf8.DecodeRune(s[i:])
			if !isWordRune(r) {
				break
			}
			buf = utf8.AppendRune(buf, unicode.ToLower(r))
			i += size
		}
	end:
		spans = append(spans, span{int32(lo), int32(len(buf))})
	}
	return buf, spans
}

// textWord is one word of a query: the words unicode61 splits it into
// (which must occur in this order, adjacent), the last one a prefix when
// the word ended in *.
type textWord struct {
	toks   []string
	prefix bool
	ascii  bool // every token is ASCII: mayHold can rule a record out
}

// parseText splits free text into query words; words without any letter
// or digit are dropped. ok is false when nothing is left to look for.
func parseText(text string) (words []textWord, ok bool) {
	for _, w := range strings.Fields(text) {
		prefix := strings.HasSuffix(w, "*")
		w = strings.TrimRight(w, "*")
		buf, spans := tokenize(nil, nil, []byte(w))
		if len(spans) == 0 {
			continue
		}
		tw := textWord{prefix: prefix, ascii: true}
		for _, sp := range spans {
			tw.toks = append(tw.toks, string(buf[sp.lo:sp.hi]))
		}
		for _, c := range buf {
			if c >= utf8.RuneSelf {
				tw.ascii = false
			}
		}
		words = append(words, tw)
	}
	return words, len(words) > 0
}

// ftsQuery is the index's query for words: every word of every query word
// in some raw record of the block (quoted, so FTS5 syntax is literal).
func ftsQuery(words []textWord) string {
	var parts []string
	for _, w := range words {
		for i, t := range w.toks {
			q := `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
			if w.prefix && i == len(w.toks)-1 {
				q += "*"
			}
			parts = append(parts, q)
		}
	}
	return strings.Join(parts, " AND ")
}

// matcher checks raw records against query words, reusing its buffers.
type matcher struct {
	words []textWord
	buf   []byte
	spans []span
}

// match reports whether every query word occurs in raw.
func (m *matcher) match(raw []byte) bool {
	for _, w := range m.words {
		if w.ascii && !mayHold(raw, w.toks[0]) {
			return false
		}
	}
	m.buf, m.spans = tokenize(m.buf[:0], m.spans[:0], raw)
	for _, w := range m.words {
		if !m.has(w) {
			return false
		}
	}
	return true
}

// mayHold reports whether raw may hold the word tok (lower-case ASCII)
// as tokenize splits it: false only when raw is all ASCII and holds tok
// in no letter case. Tokenizing every record of a chunk costs several
// times this one pass, and most records of a chunk the index names lack
// a rare word. A record with other bytes is left to tokenize, whose
// Unicode case folding can turn them into ASCII letters (K, the Kelvin
// sign, folds to k).
func mayHold(raw []byte, tok string) bool {
	if tok == "" {
		return true
	}
	first, n := tok[0], len(tok)
	for i, c := range raw {
		if c >= utf8.RuneSelf {
			return true
		}
		if c|0x20 != first && c != first || i+n > len(raw) {
			continue
		}
		j := 1
		for ; j < n; j++ {
			d := raw[i+j]
			if 'A' <= d && d <= 'Z' {
				d += 'a' - 'A'
			}
			if d != tok[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

func (m *matcher) has(w textWord) bool {
	n := len(w.toks)
	for i := 0; i+n <= len(m.spans); i++ {
		ok := true
		for j, t := range w.toks {
			sp := m.spans[i+j]
			tok := m.buf[sp.lo:sp.hi]
			if w.prefix && j == n-1 {
				ok = len(tok) >= len(t) && string(tok[:len(t)]) == t
			} else {
				ok = string(tok) == t
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// blockWords returns the distinct words of raws separated by spaces: the
// full-text document of a chunk.
func blockWords(raws [][]byte) string {
	var w chunkWords
	return w.document(raws)
}

// chunkWords builds the full-text documents of a block's chunks one after
// the other (blockWords), keeping its buffers and the words it has met:
// most words of a chunk (field names, actions, device names) recur in the
// next, and are then neither allocated nor hashed into a fresh map again.
type chunkWords struct {
	buf   []byte
	spans []span
	seen  map[string]int32 // a word's place in known
	known []knownWord
	n     int // documents built so far
	words []string
}

// knownWord is a word chunkWords has met and the last document it was put
// in.
type knownWord struct {
	word string
	last int
}

// maxKnownWords bounds the words a chunkWords keeps between blocks (the
// frequent ones come back at once; addresses and IDs would only pile up).
const maxKnownWords = 1 << 16

// trim forgets the words met when they have become too many, and lets the
// buffers of an unusually large block go.
func (w *chunkWords) trim() {
	if len(w.known) > maxKnownWords {
		clear(w.seen)
		clear(w.known)
		w.known = w.known[:0]
	}
	if cap(w.buf) > 1<<20 {
		w.buf, w.spans = nil, nil
	}
	clear(w.words)
	w.words = w.words[:0]
}

// document returns the distinct words of raws separated by spaces, in the
// order they first appear. The table is contentless with detail=none: the
// order is lost when FTS5 indexes the words, and sorting them cost a
// microsecond per event.
func (w *chunkWords) document(raws [][]byte) string {
	if w.seen == nil {
		w.seen = make(map[string]int32, 1024)
	}
	w.n++
	w.words = w.words[:0]
	for _, r := range raws {
		w.buf, w.spans = tokenize(w.buf[:0], w.spans[:0], r)
		for _, sp := range w.spans {
			b := w.buf[sp.lo:sp.hi]
			k, ok := w.seen[string(b)]
			if !ok {
				k = int32(len(w.known))
				s := string(b)
				w.seen[s] = k
				w.known = append(w.known, knownWord{word: s})
			}
			if kw := &w.known[k]; kw.last != w.n {
				kw.last = w.n
				w.words = append(w.words, kw.word)
			}
		}
	}
	return strings.Join(w.words, " ")
}
