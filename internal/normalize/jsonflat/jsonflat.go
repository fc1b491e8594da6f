// Package jsonflat turns one JSON object into the flat field map that a
// *tansa.Event holds, so that JSON log records (Zeek, Office 365, Entra ID)
// keep their vendors' field names as-is.
//
// Nested objects become dotted names ("id.orig_h" stays "id.orig_h";
// {"a":{"b":1}} becomes "a.b"). Values become the event's value types: a
// string stays a string, an integer literal becomes int64, any other number
// float64, true/false bool, null nil, and an array of scalars []string (each
// element as written). An array of objects is flattened with each element's
// index ("Folders.0.Path"), except that an array of {"Name":…, "Value":…}
// objects, Microsoft's shape for parameters and extended properties, becomes
// one field per Name ("Parameters.Identity").
package jsonflat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Flatten decodes the JSON object in data and adds its fields to f, each
// name prefixed with prefix (which, when not empty, should end with a dot).
// A document that is not one JSON object is an error that names the byte
// offset; fields decoded before the error stay in f.
func Flatten(data []byte, prefix string, f map[string]any) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	tok, err := dec.ReadToken()
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	if tok.Kind() != '{' {
		return fmt.Errorf("json: document is a %v, not an object [offset 0]", tok.Kind())
	}
	if err := object(dec, prefix, f); err != nil {
		return fmt.Errorf("json: %w [offset %d]", err, dec.InputOffset())
	}
	if _, err := dec.ReadToken(); err == nil {
		return fmt.Errorf("json: more than one value in the record [offset %d]", dec.InputOffset())
	}
	return nil
}

// object reads the members of an object whose "{" was read.
func object(dec *jsontext.Decoder, prefix string, f map[string]any) error {
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if tok.Kind() == '}' {
			return nil
		}
		name := prefix + tok.String()
		if err := value(dec, name, f); err != nil {
			return err
		}
	}
}

func value(dec *jsontext.Decoder, name string, f map[string]any) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case '{':
		return object(dec, name+".", f)
	case '[':
		return array(dec, name, f)
	default:
		f[name] = scalar(tok)
	}
	return nil
}

func scalar(tok jsontext.Token) any {
	switch tok.Kind() {
	case '"':
		return tok.String()
	case '0':
		s := tok.String()
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		return tok.Float()
	case 't':
		return true
	case 'f':
		return false
	}
	return nil
}

// array reads an array whose "[" was read.
func array(dec *jsontext.Decoder, name string, f map[string]any) error {
	var list []string
	nested := false // whether elements were objects or arrays, flattened by index
	for i := 0; ; i++ {
		switch dec.PeekKind() {
		case ']':
			_, err := dec.ReadToken()
			if list != nil || !nested {
				if list == nil {
					list = []string{}
				}
				f[name] = list
			}
			return err
		case '{':
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			nested = true
			elem := make(map[string]any, 4)
			if err := object(dec, "", elem); err != nil {
				return err
			}
			if n, ok := elem["Name"].(string); ok && len(elem) <= 2 {
				if v, ok := elem["Value"]; ok || len(elem) == 1 {
					f[name+"."+n] = v
					continue
				}
			}
			for k, v := range elem {
				f[name+"."+strconv.Itoa(i)+"."+k] = v
			}
		case '[':
			nested = true
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			if err := array(dec, name+"."+strconv.Itoa(i), f); err != nil {
				return err
			}
		case 0:
			return errors.New("unterminated array")
		default:
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			switch tok.Kind() {
			case 'n':
				list = append(list, "")
			case 't', 'f':
				list = append(list, strconv.FormatBool(tok.Bool()))
			default:
				list = append(list, tok.String())
			}
		}
	}
}
