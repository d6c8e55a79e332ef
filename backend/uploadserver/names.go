package uploadserver

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxSegments and maxSegment bound a target name.
const (
	maxSegments = 32
	maxSegment  = 255
)

var windowsReserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true}

// TargetName turns a request path into the name a finished upload gets
// below the directory, or says why it cannot have one. The rules keep every
// name inside the directory on every platform: no empty, "." or ".."
// segment, no absolute path, no hidden name (the server keeps its state in
// ".bits-sessions"), no NUL or other control character, none of \ : * ? "
// < > |, no trailing dot or space, no Windows device name, valid UTF-8, at
// most 32 segments of 255 bytes. The path is the decoded URL path.
func TargetName(urlPath string) (string, error) {
	p := strings.TrimPrefix(urlPath, "/")
	switch {
	case p == "":
		return "", errors.New("the URL names no file")
	case strings.HasSuffix(p, "/"):
		return "", errors.New("the URL names a directory")
	case !utf8.ValidString(p):
		return "", errors.New("the name is not valid UTF-8")
	}
	segs := strings.Split(p, "/")
	if len(segs) > maxSegments {
		return "", fmt.Errorf("the name has more than %d segments", maxSegments)
	}
	for _, s := range segs {
		if err := checkSegment(s); err != nil {
			return "", fmt.Errorf("segment %q: %w", s, err)
		}
	}
	return strings.Join(segs, "/"), nil
}

func checkSegment(s string) error {
	switch {
	case s == "" || s == "." || s == "..":
		return errors.New("empty, . or .. segment")
	case strings.HasPrefix(s, "."):
		return errors.New("hidden names are not accepted")
	case len(s) > maxSegment:
		return fmt.Errorf("longer than %d bytes", maxSegment)
	case strings.HasSuffix(s, ".") || strings.HasSuffix(s, " "):
		return errors.New("trailing dot or space")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`\:*?"<>|`, r) {
			return fmt.Errorf("character %q is not accepted", r)
		}
	}
	base, _, _ := strings.Cut(s, ".")
	if windowsReserved[strings.ToUpper(strings.TrimSpace(base))] {
		return errors.New("a Windows device name")
	}
	return nil
}
