package ops

import (
	"strconv"
	"strings"

	"ferry/backend/bits"
)

// nullable maps bitsadmin's NULL (and "") to the empty string.
func nullable(s string) string {
	if strings.EqualFold(s, "NULL") {
		return ""
	}
	return s
}

// parseRanges reads bitsadmin's range list: "OFFSET:LENGTH,…", LENGTH a
// number of bytes or "eof" (to the end of the remote file).
func parseRanges(s string) ([]bits.Range, error) {
	var out []bits.Range
	for _, item := range strings.Split(s, ",") {
		off, length, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			return nil, bits.Errorf(bits.E_INVALIDARG, "the range %q is not OFFSET:LENGTH", item)
		}
		if strings.EqualFold(strings.TrimSpace(off), "eof") {
			return nil, bits.Errorf(bits.BG_E_INVALID_RANGE, "the range %q starts at eof", item)
		}
		o, err := strconv.ParseInt(strings.TrimSpace(off), 10, 64)
		if err != nil || o < 0 {
			return nil, bits.Errorf(bits.BG_E_INVALID_RANGE, "the offset of %q is not a whole number of bytes", item)
		}
		r := bits.Range{Offset: o, Length: bits.LengthToEOF}
		if !strings.EqualFold(strings.TrimSpace(length), "eof") {
			n, err := strconv.ParseInt(strings.TrimSpace(length), 10, 64)
			if err != nil || n < 1 {
				return nil, bits.Errorf(bits.BG_E_INVALID_RANGE, "the length of %q is not a whole number of bytes from 1 (or eof)", item)
			}
			r.Length = n
		}
		out = append(out, r)
	}
	return out, nil
}

// parseIndex reads a file's 0-based index.
func parseIndex(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, bits.Errorf(bits.E_INVALIDARG, "the file index %q is not a whole number from 0", s)
	}
	return n, nil
}

func parseSeconds(what, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, bits.Errorf(bits.E_INVALIDARG, "%s %q is not a whole number of seconds", what, s)
	}
	return n, nil
}

// parseMask reads a 32-bit decimal or 0x-hex mask (never octal: "010" is ten).
func parseMask(what, s string) (uint32, error) {
	t := strings.TrimSpace(s)
	base := 10
	if rest, ok := strings.CutPrefix(strings.ToLower(t), "0x"); ok {
		t, base = rest, 16
	}
	n, err := strconv.ParseUint(t, base, 32)
	if err != nil {
		return 0, bits.Errorf(bits.E_INVALIDARG, "%s %q are not a decimal or 0x-hexadecimal number", what, s)
	}
	return uint32(n), nil
}

func parseNotifyFlags(s string) (bits.NotifyFlags, error) {
	n, err := parseMask("notify flags", s)
	return bits.NotifyFlags(n), err
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, bits.Errorf(bits.E_INVALIDARG, "%q is not true or false", s)
}

func parseProxyUsage(s string) (bits.ProxyUsage, error) {
	var u bits.ProxyUsage
	err := u.UnmarshalText([]byte(strings.ReplaceAll(s, "-", "_")))
	return u, err
}

func parseTarget(s string) (bits.AuthTarget, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "server", "1":
		return bits.AuthTargetServer, nil
	case "proxy", "2":
		return bits.AuthTargetProxy, nil
	}
	return 0, bits.Errorf(bits.BG_E_INVALID_AUTH_TARGET, "%q is not an authentication target (server or proxy)", s)
}

var schemes = []string{"", "basic", "digest", "ntlm", "negotiate", "passport"}

func parseScheme(s string) (bits.AuthScheme, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for i, n := range schemes {
		if i > 0 && (t == n || t == strconv.Itoa(i)) {
			return bits.AuthScheme(i), nil
		}
	}
	return 0, bits.Errorf(bits.BG_E_INVALID_AUTH_SCHEME, "%q is not an authentication scheme (basic, digest, ntlm, negotiate or passport)", s)
}

func parseJobType(r Request) (bits.JobType, error) {
	t, n := bits.TypeDownload, 0
	for _, c := range []struct {
		flag string
		typ  bits.JobType
	}{{"download", bits.TypeDownload}, {"upload", bits.TypeUpload}, {"upload-reply", bits.TypeUploadReply}} {
		if r.Has(c.flag) {
			t = c.typ
			n++
		}
	}
	if n > 1 {
		return 0, bits.Errorf(bits.E_INVALIDARG, "give only one of --download, --upload and --upload-reply")
	}
	return t, nil
}
