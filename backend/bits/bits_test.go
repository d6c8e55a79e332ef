package bits

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHTTPErrorsAndClasses(t *testing.T) {
	for status, want := range map[int]string{404: "0x80190194", 503: "0x801901F7", 407: "0x80190197", 416: "0x801901A0"} {
		h := HTTPError(status)
		if h.Hex() != want || h.HTTPStatus() != status || h.Name() != "BG_E_HTTP_ERROR_"+strconv.Itoa(status) {
			t.Errorf("%d: %s %s", status, h.Hex(), h.Name())
		}
	}
	transient := map[int]bool{300: false, 301: false, 305: false, 306: true, 307: false, 308: true,
		400: false, 403: false, 404: false, 408: true, 409: true, 410: false,
		500: true, 501: false, 502: true, 503: true, 505: false, 100: true}
	for s, want := range transient {
		if got := TransientHTTPStatus(s); got != want {
			t.Errorf("TransientHTTPStatus(%d) = %v, want %v", s, got, want)
		}
	}
}

func TestCodesHaveNamesAndParse(t *testing.T) {
	for code, c := range codes {
		if !strings.HasPrefix(c.name, "BG_") && !strings.HasPrefix(c.name, "E_") && !strings.HasPrefix(c.name, "S_") && !strings.HasPrefix(c.name, "ERROR_") && !strings.HasPrefix(c.name, "NTE_") {
			t.Errorf("odd name %s", c.name)
		}
		if back, ok := ParseHRESULT(c.name); !ok || back != code {
			t.Errorf("ParseHRESULT(%s) = %s", c.name, back.Hex())
		}
		if c.desc == "" || !strings.HasSuffix(c.desc, ".") {
			t.Errorf("%s: description %q", c.name, c.desc)
		}
	}
	if BG_E_INVALID_STATE != 0x80200002 || BG_E_NOT_FOUND != 0x80200001 || E_INVALIDARG != 0x80070057 || BG_E_VALIDATION_FAILED != 0x80200053 {
		t.Fatal("numbers drifted from bitsmsg.h")
	}
	e := Errorf(BG_E_INVALID_STATE, "job is %s", StateCancelled)
	if e.Error() != "BG_E_INVALID_STATE (0x80200002): job is CANCELLED" {
		t.Fatalf("%q", e.Error())
	}
}

func TestEnumsNumbersAndText(t *testing.T) {
	if StateQueued != 0 || StateCancelled != 8 || PriorityForeground != 0 || PriorityLow != 3 || TypeUploadReply != 2 || ProxyAutodetect != 3 || ContextRemoteApplication != 7 {
		t.Fatal("enum numbers differ from BITS")
	}
	var p JobPriority
	if err := p.UnmarshalText([]byte("foreground")); err != nil || p != PriorityForeground {
		t.Fatal(err)
	}
	if err := p.UnmarshalText([]byte("urgent")); CodeOf(err) != E_INVALIDARG {
		t.Fatalf("bad priority: %v", err)
	}
	var jt JobType
	if err := jt.UnmarshalText([]byte("upload-reply")); err != nil || jt != TypeUploadReply {
		t.Fatal(err)
	}
	if !(NotifyJobTransferred | NotifyJobError).Valid() || NotifyFlags(0x40).Valid() {
		t.Fatal("Valid")
	}
	if (NotifyJobTransferred | NotifyDisable).Wants(NotifyJobTransferred) {
		t.Fatal("DISABLE must override")
	}
}

// The JSON of a job is exactly cli.md's shape.
func TestJobInfoJSONShape(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 500, time.UTC)
	j := &Job{ID: "0c7f6d1e-5a55-4b07-9d3f-2f2f7f1b9a10", DisplayName: "nightly", State: StateTransientError, Priority: PriorityNormal,
		Owner: "alice", CreationTime: now, ModificationTime: now, MinRetryDelay: 600, NoProgressTimeout: 1209600, MaxDownloadTime: 7776000,
		NotifyFlags: 3, Files: []File{{RemoteName: "https://example.org/a.iso", LocalName: "/home/alice/a.iso", BytesTotal: 1048576, BytesTransferred: 524288},
			{RemoteName: "https://example.org/b", LocalName: "/home/alice/b", BytesTotal: SizeUnknown}},
		Error: &JobError{Context: ContextRemoteFile, Code: HTTPError(404), Protocol: "http", FileIndex: 0}}
	b, err := json.Marshal(j.Info(true))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"connections", "connectionsInUse", "costFlags", "description", "displayName", "dynamic", "error", "errorCount", "files", "id", "maxDownloadTime", "minRetryDelay",
		"noProgressTimeout", "notifyCmdLine", "notifyFlags", "owner", "priority", "progress", "proxy", "state", "times", "type"}
	if got := keys(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys %v\nwant %v", got, want)
	}
	if got := keys(m["progress"].(map[string]any)); !reflect.DeepEqual(got, []string{"bytesTotal", "bytesTransferred", "filesTotal", "filesTransferred"}) {
		t.Fatalf("progress keys %v", got)
	}
	if m["progress"].(map[string]any)["bytesTotal"].(float64) != -1 {
		t.Fatal("an unsized file must make bytesTotal -1")
	}
	times := m["times"].(map[string]any)
	if times["creationTime"] != "2026-11-23T10:00:00Z" || times["transferCompletionTime"] != nil {
		t.Fatalf("times %v", times)
	}
	e := m["error"].(map[string]any)
	if e["code"] != "0x80190194" || e["name"] != "BG_E_HTTP_ERROR_404" || e["context"] != "REMOTE_FILE" || e["protocol"] != "http" ||
		e["file"].(map[string]any)["remoteName"] != "https://example.org/a.iso" || e["description"] == "" {
		t.Fatalf("error %v", e)
	}
	if got := keys(e); !reflect.DeepEqual(got, []string{"code", "context", "description", "file", "name", "protocol"}) {
		t.Fatalf("error keys %v", got)
	}
	if m["proxy"].(map[string]any)["usage"] != "PRECONFIG" || m["type"] != "DOWNLOAD" || m["state"] != "TRANSIENT_ERROR" {
		t.Fatalf("%s", b)
	}
	// The error is null outside ERROR/TRANSIENT_ERROR, and files only on request.
	j.State = StateQueued
	b, _ = json.Marshal(j.Info(false))
	if !strings.Contains(string(b), `"error":null`) || strings.Contains(string(b), `"files"`) {
		t.Fatalf("%s", b)
	}
	j.Files = nil
	b, _ = json.Marshal(j.Info(true))
	if !strings.Contains(string(b), `"files":[]`) {
		t.Fatalf("empty files must print []: %s", b)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Equal must see every field of File: a field it missed would keep a
// changed file row from being written.
func TestFileEqualSeesEveryField(t *testing.T) {
	base := File{}
	v := reflect.ValueOf(&base).Elem()
	for i := 0; i < v.NumField(); i++ {
		g := File{}
		fv := reflect.ValueOf(&g).Elem().Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString("x")
		case reflect.Int64:
			fv.SetInt(7)
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Slice:
			switch fv.Interface().(type) {
			case []Segment:
				fv.Set(reflect.ValueOf([]Segment{{Start: 0, End: 9, Done: 3}}))
			case []Range:
				fv.Set(reflect.ValueOf([]Range{{Offset: 5, Length: LengthToEOF}}))
			default:
				t.Fatalf("field %s: no test value", v.Type().Field(i).Name)
			}
		case reflect.Struct:
			switch fv.Interface().(type) {
			case Validator:
				fv.Set(reflect.ValueOf(Validator{Size: 3}))
			case time.Time:
				fv.Set(reflect.ValueOf(time.Unix(5, 0)))
			default:
				t.Fatalf("field %s: no test value", v.Type().Field(i).Name)
			}
		default:
			t.Fatalf("field %s: no test value", v.Type().Field(i).Name)
		}
		if base.Equal(g) || g.Equal(base) {
			t.Errorf("Equal ignores %s", v.Type().Field(i).Name)
		}
		if !g.Equal(g) {
			t.Errorf("a file differs from itself in %s", v.Type().Field(i).Name)
		}
	}
}
