package store

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"ferry/backend/bits"
)

// decodeFileRow decodes a file row as json.Unmarshal does, fast: a queue
// of 100,000 files spent 0.4 s of its 0.9 s start in encoding/json (a
// validation pass, then reflection). It reads the shape the store writes
// (json.Marshal of a bits.File: known keys, strings without escapes,
// integers, booleans, an RFC 3339 time; a string with escapes goes to
// encoding/json alone) and anything else (a null, a key it does not know)
// is left to encoding/json: ok false, f untouched.
func decodeFileRow(b []byte, f *bits.File) (ok bool) {
	var v bits.File
	s := &rowScan{b: b}
	if !s.object(func(key []byte) bool {
		switch string(key) {
		case "remoteName":
			return s.str(&v.RemoteName)
		case "localName":
			return s.str(&v.LocalName)
		case "tempName":
			return s.str(&v.TempName)
		case "tempId":
			return s.str(&v.TempID)
		case "dirId":
			return s.str(&v.DirID)
		case "sha256":
			return s.str(&v.SHA256)
		case "bytesTotal":
			return s.int(&v.BytesTotal)
		case "bytesTransferred":
			return s.int(&v.BytesTransferred)
		case "transferred":
			return s.bool(&v.Transferred)
		case "committed":
			return s.bool(&v.Committed)
		case "modTime":
			return s.time(&v.ModTime)
		case "validator":
			return s.object(func(key []byte) bool {
				switch string(key) {
				case "size":
					return s.int(&v.Validator.Size)
				case "etag":
					return s.str(&v.Validator.ETag)
				case "lastModified":
					return s.str(&v.Validator.LastModified)
				}
				return false
			})
		}
		return false
	}) {
		return false
	}
	s.space()
	if s.i != len(s.b) {
		return false
	}
	*f = v
	return true
}

// rowScan reads the simple JSON of a row; every method reports false on
// anything it does not handle.
type rowScan struct {
	b []byte
	i int
}

func (s *rowScan) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *rowScan) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads {"key": value, …}, value by value.
func (s *rowScan) object(value func(key []byte) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		key, ok := s.raw()
		if !ok || !s.byte(':') || !value(key) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

// raw reads a string without escapes, control characters or invalid UTF-8.
func (s *rowScan) raw() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	n := bytes.IndexByte(s.b[s.i:], '"')
	if n < 0 {
		return nil, false
	}
	v := s.b[s.i : s.i+n]
	for _, c := range v {
		if c < 0x20 || c == '\\' {
			return nil, false
		}
	}
	if !utf8.Valid(v) {
		return nil, false
	}
	s.i += n + 1
	return v, true
}

// str reads a string; one with escapes (json.Marshal writes & < > as
// \u0026 \u003c \u003e) is unquoted by encoding/json, alone.
func (s *rowScan) str(dst *string) bool {
	s.space()
	start := s.i
	if v, ok := s.raw(); ok {
		*dst = string(v)
		return true
	}
	s.i = start
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	j := s.i + 1
	for ; j < len(s.b) && s.b[j] != '"'; j++ {
		if s.b[j] == '\\' {
			j++
		}
	}
	if j >= len(s.b) {
		return false
	}
	var v string
	if json.Unmarshal(s.b[s.i:j+1], &v) != nil {
		return false
	}
	*dst, s.i = v, j+1
	return true
}

func (s *rowScan) int(dst *int64) bool {
	s.space()
	j := s.i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(s.b[s.i:j]), 10, 64)
	if err != nil || (j < len(s.b) && (s.b[j] == '.' || s.b[j] == 'e' || s.b[j] == 'E')) {
		return false
	}
	*dst, s.i = n, j
	return true
}

func (s *rowScan) bool(dst *bool) bool {
	s.space()
	switch {
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		*dst, s.i = true, s.i+4
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		*dst, s.i = false, s.i+5
	default:
		return false
	}
	return true
}

func (s *rowScan) time(dst *time.Time) bool {
	v, ok := s.raw()
	if !ok {
		return false
	}
	var t time.Time
	// What time.Time's UnmarshalJSON reads.
	if err := t.UnmarshalText(v); err != nil {
		return false
	}
	*dst = t
	return true
}
