package bits

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// HRESULT is a BITS/Win32 result code, kept with BITS' exact numbers so that
// scripts written against bitsadmin see the same values.
type HRESULT uint32

// Success codes.
const (
	S_OK                        HRESULT = 0x00000000
	S_FALSE                     HRESULT = 0x00000001
	BG_S_ERROR_CONTEXT_NONE     HRESULT = 0x00200006
	BG_S_PARTIAL_COMPLETE       HRESULT = 0x00200017
	BG_S_UNABLE_TO_DELETE_FILES HRESULT = 0x0020001A
)

// Failure codes (bitsmsg.h, winerror.h).
const (
	E_NOTIMPL      HRESULT = 0x80004001
	E_FAIL         HRESULT = 0x80004005
	E_ACCESSDENIED HRESULT = 0x80070005
	E_INVALIDARG   HRESULT = 0x80070057
	E_PENDING      HRESULT = 0x8000000A
	E_OUTOFMEMORY  HRESULT = 0x8007000E

	ERROR_FILE_NOT_FOUND HRESULT = 0x80070002
	ERROR_PATH_NOT_FOUND HRESULT = 0x80070003
	ERROR_DISK_FULL      HRESULT = 0x80070070
	ERROR_NOT_LOGGED_ON  HRESULT = 0x800704DD
	// The engine's own life, in Windows' service-control words.
	ERROR_CANCELLED               HRESULT = 0x800704C7
	ERROR_TIMEOUT                 HRESULT = 0x800705B4
	ERROR_SERVICE_ALREADY_RUNNING HRESULT = 0x80070420
	ERROR_SERVICE_NOT_ACTIVE      HRESULT = 0x80070426

	// The secret key that seals credentials (Windows' CryptoAPI words).
	NTE_BAD_KEY    HRESULT = 0x80090003
	NTE_BAD_KEYSET HRESULT = 0x80090016

	ERROR_WINHTTP_TIMEOUT                 HRESULT = 0x80072EE2
	ERROR_WINHTTP_NAME_NOT_RESOLVED       HRESULT = 0x80072EE7
	ERROR_WINHTTP_CANNOT_CONNECT          HRESULT = 0x80072EFD
	ERROR_WINHTTP_CONNECTION_ERROR        HRESULT = 0x80072EFE
	ERROR_WINHTTP_REDIRECT_FAILED         HRESULT = 0x80072F7C
	ERROR_WINHTTP_INVALID_SERVER_RESPONSE HRESULT = 0x80072F78
	ERROR_WINHTTP_SECURE_FAILURE          HRESULT = 0x80072F8F
	ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED HRESULT = 0x80072F0C

	BG_E_NOT_FOUND                                 HRESULT = 0x80200001
	BG_E_INVALID_STATE                             HRESULT = 0x80200002
	BG_E_EMPTY                                     HRESULT = 0x80200003
	BG_E_FILE_NOT_AVAILABLE                        HRESULT = 0x80200004
	BG_E_PROTOCOL_NOT_AVAILABLE                    HRESULT = 0x80200005
	BG_E_DESTINATION_LOCKED                        HRESULT = 0x8020000D
	BG_E_VOLUME_CHANGED                            HRESULT = 0x8020000E
	BG_E_ERROR_INFORMATION_UNAVAILABLE             HRESULT = 0x8020000F
	BG_E_NETWORK_DISCONNECTED                      HRESULT = 0x80200010
	BG_E_MISSING_FILE_SIZE                         HRESULT = 0x80200011
	BG_E_INSUFFICIENT_HTTP_SUPPORT                 HRESULT = 0x80200012
	BG_E_INSUFFICIENT_RANGE_SUPPORT                HRESULT = 0x80200013
	BG_E_REMOTE_NOT_SUPPORTED                      HRESULT = 0x80200014
	BG_E_NEW_OWNER_DIFF_MAPPING                    HRESULT = 0x80200015
	BG_E_NEW_OWNER_NO_FILE_ACCESS                  HRESULT = 0x80200016
	BG_E_PROXY_LIST_TOO_LARGE                      HRESULT = 0x80200018
	BG_E_PROXY_BYPASS_LIST_TOO_LARGE               HRESULT = 0x80200019
	BG_E_INVALID_SERVER_RESPONSE                   HRESULT = 0x8020001B
	BG_E_TOO_MANY_FILES                            HRESULT = 0x8020001C
	BG_E_LOCAL_FILE_CHANGED                        HRESULT = 0x8020001D
	BG_E_SESSION_NOT_FOUND                         HRESULT = 0x8020001F
	BG_E_TOO_LARGE                                 HRESULT = 0x80200020
	BG_E_STRING_TOO_LONG                           HRESULT = 0x80200021
	BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH           HRESULT = 0x80200022
	BG_E_SERVER_EXECUTE_ENABLE                     HRESULT = 0x80200023
	BG_E_NO_PROGRESS                               HRESULT = 0x80200024
	BG_E_USERNAME_TOO_LARGE                        HRESULT = 0x80200025
	BG_E_PASSWORD_TOO_LARGE                        HRESULT = 0x80200026
	BG_E_INVALID_AUTH_TARGET                       HRESULT = 0x80200027
	BG_E_INVALID_AUTH_SCHEME                       HRESULT = 0x80200028
	BG_E_FILE_NOT_FOUND                            HRESULT = 0x80200029
	BG_E_INVALID_RANGE                             HRESULT = 0x8020002B
	BG_E_OVERLAPPING_RANGES                        HRESULT = 0x8020002C
	BG_E_CONNECT_FAILURE                           HRESULT = 0x8020002D
	BG_E_CONNECTION_CLOSED                         HRESULT = 0x8020002E
	BG_E_BLOCKED_BY_POLICY                         HRESULT = 0x8020003E
	BG_E_INVALID_PROXY_INFO                        HRESULT = 0x8020003F
	BG_E_INVALID_CREDENTIALS                       HRESULT = 0x80200040
	BG_E_INVALID_HASH_ALGORITHM                    HRESULT = 0x80200041
	BG_E_TOO_MANY_JOBS_PER_USER                    HRESULT = 0x80200049
	BG_E_TOO_MANY_JOBS_PER_MACHINE                 HRESULT = 0x80200050
	BG_E_TOO_MANY_FILES_IN_JOB                     HRESULT = 0x80200051
	BG_E_TOO_MANY_RANGES_IN_FILE                   HRESULT = 0x80200052
	BG_E_VALIDATION_FAILED                         HRESULT = 0x80200053
	BG_E_MAXDOWNLOAD_TIMEOUT                       HRESULT = 0x80200054
	BG_E_TOKEN_REQUIRED                            HRESULT = 0x80200056
	BG_E_UNKNOWN_PROPERTY_ID                       HRESULT = 0x80200057
	BG_E_BLOCKED_BY_COST_TRANSFER_POLICY           HRESULT = 0x80200059
	BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE          HRESULT = 0x80200061
	BG_E_READ_ONLY_PROPERTY_AFTER_RESUME           HRESULT = 0x80200062
	BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY HRESULT = 0x80200060
	BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE           HRESULT = 0x80200063
	BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED           HRESULT = 0x80200064
	BG_E_WATCHDOG_TIMEOUT                          HRESULT = 0x80200069
	BG_E_DATABASE_CORRUPT                          HRESULT = 0x8020006C
	BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD     HRESULT = 0x80200071
	BG_E_UNSUPPORTED_JOB_CONFIGURATION             HRESULT = 0x80200072
	BG_E_REMOTE_FILE_CHANGED                       HRESULT = 0x80200073
	BG_E_READ_ONLY_WHEN_JOB_ACTIVE                 HRESULT = 0x80200075
)

// httpFacility is FACILITY_HTTP (0x19) as a failure HRESULT prefix.
const httpFacility HRESULT = 0x80190000

// HTTPError maps an HTTP status to BG_E_HTTP_ERROR_xxx.
func HTTPError(status int) HRESULT { return httpFacility + HRESULT(status) }

// HTTPStatus returns the HTTP status inside a BG_E_HTTP_ERROR_xxx code, or 0.
func (h HRESULT) HTTPStatus() int {
	if h&0xFFFF0000 == httpFacility {
		return int(h & 0xFFFF)
	}
	return 0
}

// TransientHTTPStatus applies BITS' status classification (§4.3): 3xx transient
// except 300–305 and 307; 4xx fatal except 408 and 409; 5xx transient except
// 501 and 505; anything else transient.
func TransientHTTPStatus(status int) bool {
	switch {
	case status >= 300 && status <= 399:
		return !(status <= 305 || status == 307)
	case status >= 400 && status <= 499:
		return status == 408 || status == 409
	case status >= 500 && status <= 599:
		return status != 501 && status != 505
	}
	return true
}

type codeInfo struct {
	name string
	desc string
}

var codes = map[HRESULT]codeInfo{
	S_OK:                        {"S_OK", "The operation completed successfully."},
	S_FALSE:                     {"S_FALSE", "The operation completed, but there was nothing to change."},
	BG_S_ERROR_CONTEXT_NONE:     {"BG_S_ERROR_CONTEXT_NONE", "An error has not occurred."},
	BG_S_PARTIAL_COMPLETE:       {"BG_S_PARTIAL_COMPLETE", "Some of the job's files were not transferred and were deleted; the others are available."},
	BG_S_UNABLE_TO_DELETE_FILES: {"BG_S_UNABLE_TO_DELETE_FILES", "The job finished, but some temporary files could not be deleted."},

	E_NOTIMPL:      {"E_NOTIMPL", "The operation or value is not supported."},
	E_FAIL:         {"E_FAIL", "Unspecified error."},
	E_ACCESSDENIED: {"E_ACCESSDENIED", "Access is denied."},
	E_INVALIDARG:   {"E_INVALIDARG", "One or more arguments are invalid."},
	E_PENDING:      {"E_PENDING", "The data necessary to complete this operation is not yet available."},
	E_OUTOFMEMORY:  {"E_OUTOFMEMORY", "Not enough memory."},

	ERROR_FILE_NOT_FOUND: {"ERROR_FILE_NOT_FOUND", "The system cannot find the file specified."},
	ERROR_PATH_NOT_FOUND: {"ERROR_PATH_NOT_FOUND", "The system cannot find the path specified."},
	ERROR_DISK_FULL:      {"ERROR_DISK_FULL", "There is not enough space on the disk."},
	ERROR_NOT_LOGGED_ON:  {"ERROR_NOT_LOGGED_ON", "The user has not logged on to the network."},
	ERROR_CANCELLED:      {"ERROR_CANCELLED", "The operation was cancelled by the user."},
	ERROR_TIMEOUT:        {"ERROR_TIMEOUT", "This operation returned because the timeout period expired."},

	ERROR_SERVICE_ALREADY_RUNNING: {"ERROR_SERVICE_ALREADY_RUNNING", "An instance of the engine is already running."},
	ERROR_SERVICE_NOT_ACTIVE:      {"ERROR_SERVICE_NOT_ACTIVE", "The engine has not been started."},

	NTE_BAD_KEY:    {"NTE_BAD_KEY", "The key does not open the data: it is not the key that sealed it."},
	NTE_BAD_KEYSET: {"NTE_BAD_KEYSET", "The key does not exist."},

	ERROR_WINHTTP_TIMEOUT:                 {"ERROR_WINHTTP_TIMEOUT", "The operation timed out: the server stopped sending data."},
	ERROR_WINHTTP_NAME_NOT_RESOLVED:       {"ERROR_WINHTTP_NAME_NOT_RESOLVED", "The server name or address could not be resolved."},
	ERROR_WINHTTP_CANNOT_CONNECT:          {"ERROR_WINHTTP_CANNOT_CONNECT", "A connection with the server could not be established."},
	ERROR_WINHTTP_CONNECTION_ERROR:        {"ERROR_WINHTTP_CONNECTION_ERROR", "The connection with the server was reset or terminated."},
	ERROR_WINHTTP_REDIRECT_FAILED:         {"ERROR_WINHTTP_REDIRECT_FAILED", "The redirection failed: too many redirects or a disallowed redirect."},
	ERROR_WINHTTP_INVALID_SERVER_RESPONSE: {"ERROR_WINHTTP_INVALID_SERVER_RESPONSE", "The server response could not be parsed."},
	ERROR_WINHTTP_SECURE_FAILURE:          {"ERROR_WINHTTP_SECURE_FAILURE", "The server's TLS certificate could not be validated."},
	ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED: {"ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED", "The server requires a client certificate."},

	BG_E_NOT_FOUND:                                 {"BG_E_NOT_FOUND", "The requested job was not found."},
	BG_E_INVALID_STATE:                             {"BG_E_INVALID_STATE", "The requested action is not allowed in the current job state."},
	BG_E_EMPTY:                                     {"BG_E_EMPTY", "There are no files attached to this job."},
	BG_E_FILE_NOT_AVAILABLE:                        {"BG_E_FILE_NOT_AVAILABLE", "No file is available because no URL generated an error."},
	BG_E_PROTOCOL_NOT_AVAILABLE:                    {"BG_E_PROTOCOL_NOT_AVAILABLE", "No protocol is available because no URL generated an error."},
	BG_E_DESTINATION_LOCKED:                        {"BG_E_DESTINATION_LOCKED", "The destination volume is locked."},
	BG_E_VOLUME_CHANGED:                            {"BG_E_VOLUME_CHANGED", "The destination volume has changed."},
	BG_E_ERROR_INFORMATION_UNAVAILABLE:             {"BG_E_ERROR_INFORMATION_UNAVAILABLE", "No errors have occurred."},
	BG_E_NETWORK_DISCONNECTED:                      {"BG_E_NETWORK_DISCONNECTED", "There are currently no active network connections."},
	BG_E_MISSING_FILE_SIZE:                         {"BG_E_MISSING_FILE_SIZE", "The server did not return the file size. The URL might point to dynamic content."},
	BG_E_INSUFFICIENT_HTTP_SUPPORT:                 {"BG_E_INSUFFICIENT_HTTP_SUPPORT", "The server does not support HTTP 1.1."},
	BG_E_INSUFFICIENT_RANGE_SUPPORT:                {"BG_E_INSUFFICIENT_RANGE_SUPPORT", "The server does not support the necessary HTTP protocol: Range requests are not honoured."},
	BG_E_REMOTE_NOT_SUPPORTED:                      {"BG_E_REMOTE_NOT_SUPPORTED", "Remote use of the transfer service is not supported."},
	BG_E_NEW_OWNER_DIFF_MAPPING:                    {"BG_E_NEW_OWNER_DIFF_MAPPING", "The drive mapping for the job is different for the current owner than for the previous owner."},
	BG_E_NEW_OWNER_NO_FILE_ACCESS:                  {"BG_E_NEW_OWNER_NO_FILE_ACCESS", "The new owner cannot access the job's temporary files."},
	BG_E_PROXY_LIST_TOO_LARGE:                      {"BG_E_PROXY_LIST_TOO_LARGE", "The proxy list is longer than 4,000 characters."},
	BG_E_PROXY_BYPASS_LIST_TOO_LARGE:               {"BG_E_PROXY_BYPASS_LIST_TOO_LARGE", "The proxy bypass list is longer than 4,000 characters."},
	BG_E_INVALID_SERVER_RESPONSE:                   {"BG_E_INVALID_SERVER_RESPONSE", "The server returned an invalid or unrecognized response."},
	BG_E_TOO_MANY_FILES:                            {"BG_E_TOO_MANY_FILES", "An upload job can contain only one file."},
	BG_E_LOCAL_FILE_CHANGED:                        {"BG_E_LOCAL_FILE_CHANGED", "The local file changed during the transfer."},
	BG_E_SESSION_NOT_FOUND:                         {"BG_E_SESSION_NOT_FOUND", "The server does not know the upload session."},
	BG_E_TOO_LARGE:                                 {"BG_E_TOO_LARGE", "The file or reply is larger than allowed."},
	BG_E_STRING_TOO_LONG:                           {"BG_E_STRING_TOO_LONG", "The string is too long."},
	BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH:           {"BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH", "The client and server versions of the upload protocol are not compatible."},
	BG_E_SERVER_EXECUTE_ENABLE:                     {"BG_E_SERVER_EXECUTE_ENABLE", "Scripting or execute permissions are enabled on the upload directory."},
	BG_E_NO_PROGRESS:                               {"BG_E_NO_PROGRESS", "The job is not making progress; it will be retried later."},
	BG_E_USERNAME_TOO_LARGE:                        {"BG_E_USERNAME_TOO_LARGE", "The user name is longer than 300 characters."},
	BG_E_PASSWORD_TOO_LARGE:                        {"BG_E_PASSWORD_TOO_LARGE", "The password is longer than 65,536 characters."},
	BG_E_INVALID_AUTH_TARGET:                       {"BG_E_INVALID_AUTH_TARGET", "The authentication target is not valid."},
	BG_E_INVALID_AUTH_SCHEME:                       {"BG_E_INVALID_AUTH_SCHEME", "The authentication scheme is not valid."},
	BG_E_FILE_NOT_FOUND:                            {"BG_E_FILE_NOT_FOUND", "The named file is not part of the job."},
	BG_E_INVALID_RANGE:                             {"BG_E_INVALID_RANGE", "The byte range is not valid."},
	BG_E_OVERLAPPING_RANGES:                        {"BG_E_OVERLAPPING_RANGES", "The byte ranges overlap."},
	BG_E_CONNECT_FAILURE:                           {"BG_E_CONNECT_FAILURE", "The connection to the server failed."},
	BG_E_CONNECTION_CLOSED:                         {"BG_E_CONNECTION_CLOSED", "The connection was closed before the data was received."},
	BG_E_BLOCKED_BY_COST_TRANSFER_POLICY:           {"BG_E_BLOCKED_BY_COST_TRANSFER_POLICY", "The network is too expensive for the job's transfer policy (COST_FLAGS): it waits for a cheaper network."},
	BG_E_BLOCKED_BY_POLICY:                         {"BG_E_BLOCKED_BY_POLICY", "The bandwidth policy allows no background transfer now."},
	BG_E_INVALID_PROXY_INFO:                        {"BG_E_INVALID_PROXY_INFO", "The proxy list or proxy bypass list is not valid."},
	BG_E_INVALID_CREDENTIALS:                       {"BG_E_INVALID_CREDENTIALS", "The credentials are not valid."},
	BG_E_INVALID_HASH_ALGORITHM:                    {"BG_E_INVALID_HASH_ALGORITHM", "The hash algorithm is not supported."},
	BG_E_TOO_MANY_JOBS_PER_USER:                    {"BG_E_TOO_MANY_JOBS_PER_USER", "The user has reached the maximum number of jobs."},
	BG_E_TOO_MANY_JOBS_PER_MACHINE:                 {"BG_E_TOO_MANY_JOBS_PER_MACHINE", "The machine has reached the maximum number of jobs."},
	BG_E_TOO_MANY_FILES_IN_JOB:                     {"BG_E_TOO_MANY_FILES_IN_JOB", "The job has reached the maximum number of files."},
	BG_E_TOO_MANY_RANGES_IN_FILE:                   {"BG_E_TOO_MANY_RANGES_IN_FILE", "The file has reached the maximum number of ranges."},
	BG_E_VALIDATION_FAILED:                         {"BG_E_VALIDATION_FAILED", "The downloaded content failed validation."},
	BG_E_MAXDOWNLOAD_TIMEOUT:                       {"BG_E_MAXDOWNLOAD_TIMEOUT", "The job did not finish within its maximum download time."},
	BG_E_TOKEN_REQUIRED:                            {"BG_E_TOKEN_REQUIRED", "A helper token is required."},
	BG_E_UNKNOWN_PROPERTY_ID:                       {"BG_E_UNKNOWN_PROPERTY_ID", "The property is not known."},
	BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY: {"BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY", "The property is supported for download jobs only."},
	BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE:          {"BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE", "The property cannot be changed after a file has been added."},
	BG_E_READ_ONLY_PROPERTY_AFTER_RESUME:           {"BG_E_READ_ONLY_PROPERTY_AFTER_RESUME", "The property cannot be changed after the job has been resumed."},
	BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE:           {"BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE", "The maximum download size is not a valid value."},
	BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED:           {"BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED", "The job's files are larger than its maximum download size."},
	BG_E_WATCHDOG_TIMEOUT:                          {"BG_E_WATCHDOG_TIMEOUT", "An internal operation took too long."},
	BG_E_DATABASE_CORRUPT:                          {"BG_E_DATABASE_CORRUPT", "The job database is corrupt."},
	BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD:     {"BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD", "The operation is not supported for a job with a custom HTTP method."},
	BG_E_UNSUPPORTED_JOB_CONFIGURATION:             {"BG_E_UNSUPPORTED_JOB_CONFIGURATION", "The job's configuration is not supported."},
	BG_E_REMOTE_FILE_CHANGED:                       {"BG_E_REMOTE_FILE_CHANGED", "The remote file changed during the transfer; resume the job to retry."},
	BG_E_READ_ONLY_WHEN_JOB_ACTIVE:                 {"BG_E_READ_ONLY_WHEN_JOB_ACTIVE", "The property can be changed only while the job is suspended, in error or transferred."},
}

var httpReasons = map[int]string{
	400: "The request could not be processed by the server due to invalid syntax.",
	401: "The requested resource requires user authentication.",
	403: "The server understood the request, but is refusing to fulfill it.",
	404: "The requested URL does not exist on the server.",
	405: "The HTTP verb used is not allowed.",
	407: "Proxy authentication required.",
	408: "The server timed out waiting for the request.",
	409: "The request could not be completed due to a conflict with the current state of the resource.",
	410: "The requested resource is no longer available at the server.",
	416: "The server could not satisfy the range request.",
	500: "An unexpected condition prevented the server from fulfilling the request.",
	501: "The server does not support the functionality required to fulfill the request.",
	502: "The server, while acting as a gateway or proxy, received an invalid response.",
	503: "The service is temporarily overloaded.",
	504: "The request was timed out waiting for a gateway.",
	505: "The server does not support the HTTP protocol version used.",
}

// Name is the symbolic name (BG_E_NOT_FOUND, BG_E_HTTP_ERROR_404, ...).
func (h HRESULT) Name() string {
	if c, ok := codes[h]; ok {
		return c.name
	}
	if s := h.HTTPStatus(); s != 0 {
		return "BG_E_HTTP_ERROR_" + strconv.Itoa(s)
	}
	return fmt.Sprintf("0x%08X", uint32(h))
}

// Hex is the code as cli.md prints it: 0x80200002.
func (h HRESULT) Hex() string { return fmt.Sprintf("0x%08X", uint32(h)) }

// Description is a plain-language sentence for the code.
func (h HRESULT) Description() string {
	if c, ok := codes[h]; ok {
		return c.desc
	}
	if s := h.HTTPStatus(); s != 0 {
		if r, ok := httpReasons[s]; ok {
			return fmt.Sprintf("HTTP status %d: %s", s, r)
		}
		return fmt.Sprintf("The server returned HTTP status %d.", s)
	}
	return fmt.Sprintf("Error 0x%08X.", uint32(h))
}

// Failed reports whether the code is a failure (high bit set).
func (h HRESULT) Failed() bool { return h&0x80000000 != 0 }

// ParseHRESULT accepts a symbolic name or a hex/decimal number.
func ParseHRESULT(s string) (HRESULT, bool) {
	s = strings.TrimSpace(s)
	for code, c := range codes {
		if strings.EqualFold(c.name, s) {
			return code, true
		}
	}
	if rest, ok := strings.CutPrefix(strings.ToUpper(s), "BG_E_HTTP_ERROR_"); ok {
		n, err := strconv.Atoi(rest)
		if err == nil && n >= 100 && n <= 599 {
			return HTTPError(n), true
		}
	}
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, false
	}
	return HRESULT(v), true
}

// Error is a failed call: a BITS code plus what went wrong in plain words.
// It prints as cli.md's error line: "BG_E_INVALID_STATE (0x80200002): <msg>".
type Error struct {
	Code HRESULT
	Msg  string
}

func (e *Error) Error() string { return Line(e.Code, e.Msg) }

// Detail is the message without the code.
func (e *Error) Detail() string { return e.Msg }

// HResult is the code (Coded).
func (e *Error) HResult() HRESULT { return e.Code }

// Coded is an error that prints as a code line, "NAME (0x…): detail":
// *Error, and the transfer drivers' errors.
type Coded interface {
	error
	HResult() HRESULT
	Detail() string // the text after the code
}

// Line is the one way a code line is composed. Every Coded error prints
// through it and takes the text of a cause from DetailFor, so no line
// shows the same code twice (the proxy check once printed
// "BG_E_INVALID_PROXY_INFO (0x8020003F): BG_E_INVALID_PROXY_INFO (0x8020003F): …").
func Line(code HRESULT, detail string) string {
	return fmt.Sprintf("%s (%s): %s", code.Name(), code.Hex(), detail)
}

// DetailFor is err's text for a line that already shows code: the code
// line of a Coded error in err's chain with that same code is replaced by
// its detail (a cause with another code keeps its own line, which says
// something the outer code does not).
func DetailFor(code HRESULT, err error) string {
	if err == nil {
		return ""
	}
	text := err.Error()
	var c Coded
	for e := err; e != nil; {
		if !errors.As(e, &c) {
			break
		}
		if c.HResult() == code {
			return strings.Replace(text, c.Error(), c.Detail(), 1)
		}
		e = errors.Unwrap(c)
	}
	return text
}

// Errorf builds an *Error. An error among args prints as DetailFor(code,
// arg): wrapping an error of the same code does not repeat the code.
func Errorf(code HRESULT, format string, args ...any) *Error {
	args = append([]any(nil), args...) // the caller's slice stays as it was
	for i, a := range args {
		if err, ok := a.(error); ok {
			args[i] = DetailFor(code, err)
		}
	}
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf extracts the HRESULT of err (E_FAIL for foreign errors, S_OK for nil).
func CodeOf(err error) HRESULT {
	if err == nil {
		return S_OK
	}
	var be *Error
	if errors.As(err, &be) {
		return be.Code
	}
	return E_FAIL
}
