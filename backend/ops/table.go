package ops

import (
	"context"
	"fmt"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/browser/manifests"
	"ferry/backend/engine"
)

var jobArg = Arg{Name: "JOB", Kind: ArgJob}

// verb is a job method that prints nothing on success.
func verb(name, group, summary, example string, args []Arg, run func(m *engine.Manager, r Request) (any, error)) *Op {
	return &Op{
		Spec: Spec{Name: name, Group: group, Args: append([]Arg{jobArg}, args...), Summary: summary, Example: example},
		Run:  func(_ context.Context, env *Env, r Request) (any, error) { return run(env.Manager, r) },
	}
}

// stateVerb is a verb declared in engine.Verbs: the states it acts in come
// from there.
func stateVerb(op *Op) *Op {
	op.Verb = engine.Verbs[op.Name]
	if op.Verb == nil {
		panic("ops: " + op.Name + " has no engine.Verbs declaration")
	}
	return op
}

// setter is a verb that changes one property.
func setter(name, summary, example string, args []Arg, run func(m *engine.Manager, job string, a []string) error) *Op {
	return verb(name, GroupSet, summary, example, args, func(m *engine.Manager, r Request) (any, error) {
		return nil, run(m, r.Args[0], r.Args[1:])
	})
}

// infoGetter prints one property of the job's public view, in the very
// shape it has in `info --json`.
func infoGetter(name, summary string, pick func(bits.JobInfo) any, text textFunc) *Op {
	return jobGetter(name, summary, func(m *engine.Manager, job string) (any, error) {
		in, err := m.Info(job)
		if err != nil {
			return nil, err
		}
		return pick(in), nil
	}, text)
}

// fileGetter prints one property of the file at INDEX, read from the job's
// record (no engine method of its own).
func fileGetter(name, summary string, get func(f bits.File) (any, error), text textFunc) *Op {
	if text == nil {
		text = textScalar
	}
	return &Op{
		Spec: Spec{Name: name, Group: GroupGet, Args: []Arg{jobArg, {Name: "INDEX"}}, Summary: summary, Example: "ferry " + name + " nightly 0", Prints: true},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			i, err := parseIndex(r.Args[1])
			if err != nil {
				return nil, err
			}
			j, err := env.Manager.GetJob(r.Args[0])
			if err != nil {
				return nil, err
			}
			f, err := engine.FileAt(j, i)
			if err != nil {
				return nil, err
			}
			return get(*f)
		},
		Text: text,
	}
}

func jobGetter(name, summary string, get func(m *engine.Manager, job string) (any, error), text textFunc) *Op {
	if text == nil {
		text = textScalar
	}
	return &Op{
		Spec: Spec{Name: name, Group: GroupGet, Args: []Arg{jobArg}, Summary: summary, Example: "ferry " + name + " nightly", Prints: true},
		Run:  func(_ context.Context, env *Env, r Request) (any, error) { return get(env.Manager, r.Args[0]) },
		Text: text,
	}
}

// settingsHelpText is the config commands' help, built once.
var settingsHelpText = settingsHelp()

func settingsHelp() string {
	var b strings.Builder
	b.WriteString("Settings (KEY, unit, default):\n")
	for _, d := range engine.SettingDefs {
		fmt.Fprintf(&b, "  %-22s %-8s %-10s %s\n", d.Key, d.Unit, engine.FormatDefault(d), d.Help)
	}
	b.WriteString("Rates are bytes per second and accept K, M, G suffixes (powers of 1024) and \"unlimited\".")
	return b.String()
}

func settingKey(key string) (string, error) {
	for _, d := range engine.SettingDefs {
		if strings.EqualFold(d.Key, key) {
			return d.Key, nil
		}
	}
	_, _, err := engine.ParseSetting(key, "0")
	return "", err
}

var table = []*Op{
	// Jobs.
	{
		Spec: Spec{Name: "create", Group: GroupJobs, Args: []Arg{{Name: "NAME"}},
			Flags: []Flag{
				{Name: "download", Help: "a download job (the default)"},
				{Name: "upload", Help: "an upload job (one file)"},
				{Name: "upload-reply", Help: "an upload job that also receives the server's reply"},
			},
			Summary: "create a job, SUSPENDED; prints its id alone",
			Help:    "NAME is the display name (up to 256 characters; need not be unique).",
			Example: "ferry create --download nightly", Prints: true},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			t, err := parseJobType(r)
			if err != nil {
				return nil, err
			}
			return env.Manager.CreateJob(r.Args[0], t)
		},
		Text: textCreated,
	},
	{
		Spec: Spec{Name: "addfile", Group: GroupJobs, Args: []Arg{jobArg, {Name: "REMOTE"}, {Name: "LOCAL"}},
			Flags:   []Flag{{Name: "sha256", Value: "HEX", Help: "verify the file when it is transferred; a mismatch puts the job in ERROR (BG_E_VALIDATION_FAILED)"}},
			Summary: "add one file to a job",
			Help:    "REMOTE is an http://, https:// or file:// URL (or an absolute path); LOCAL must be an absolute path in an existing directory.",
			Example: "ferry addfile nightly https://example.org/a.iso /home/alice/a.iso"},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			return nil, env.Manager.AddFile(r.Args[0], engine.FileSpec{RemoteName: r.Args[1], LocalName: r.Args[2], SHA256: r.Flag("sha256")})
		},
	},
	{
		Spec: Spec{Name: "addfileset", Group: GroupJobs, Args: []Arg{jobArg, {Name: "LISTFILE", Kind: ArgPath}},
			Summary: "add many files: all of them or none",
			Help: "LISTFILE has one \"REMOTE LOCAL [SHA256]\" a line; quote fields with blanks; lines starting with # are comments.\n" +
				"It must be a regular file of at most 16 MiB, in UTF-8, with lines of at most 64 KiB, read within 10 seconds.",
			Example: "ferry addfileset nightly files.txt"},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			specs, err := readFileSet(r.Args[1], env.Manager.Settings().Get(engine.KeyMaxFilesPerJob)) // fileset.go
			if err != nil {
				return nil, err
			}
			return nil, env.Manager.AddFileSet(r.Args[0], specs)
		},
	},
	{
		Spec: Spec{Name: "addfilewithranges", Group: GroupJobs, Args: []Arg{jobArg, {Name: "REMOTE"}, {Name: "LOCAL"}, {Name: "RANGES"}},
			Summary: "add byte ranges of a remote file, written back to back into LOCAL (download jobs, http/https)",
			Help: "RANGES is a comma list of OFFSET:LENGTH, LENGTH a number of bytes or eof (to the end of the file),\n" +
				"as bitsadmin's /addfilewithranges. They are fetched in one request and written in the order given.\n" +
				"Refusals: BG_E_INVALID_RANGE (an offset of eof, a length of 0), BG_E_OVERLAPPING_RANGES, and\n" +
				"BG_E_TOO_MANY_RANGES_IN_FILE past the maxRangesPerFile setting. At run time a range outside the\n" +
				"remote file is ERROR BG_E_INVALID_RANGE, and a server that merges or reorders the ranges is ERROR\n" +
				"BG_E_INVALID_SERVER_RESPONSE: nothing it sent is written.",
			Example: "ferry addfilewithranges nightly https://example.org/a.iso /home/alice/head.bin 0:1024,1048576:eof"},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			rs, err := parseRanges(r.Args[3])
			if err != nil {
				return nil, err
			}
			return nil, env.Manager.AddFile(r.Args[0], engine.FileSpec{RemoteName: r.Args[1], LocalName: r.Args[2], Ranges: rs})
		},
	},
	verb("replaceremoteprefix", GroupJobs, "replace the start of every remote name that begins with OLD (download jobs)",
		"ferry replaceremoteprefix nightly http://old.example.org/ https://new.example.org/",
		[]Arg{{Name: "OLD"}, {Name: "NEW"}}, func(m *engine.Manager, r Request) (any, error) {
			res, err := m.ReplaceRemotePrefix(r.Args[0], r.Args[1], r.Args[2])
			if err != nil {
				return nil, err
			}
			return note(res, "no remote name starts with "+r.Args[1]), nil
		}),
	{
		Spec: Spec{Name: "listfiles", Group: GroupJobs, Args: []Arg{jobArg}, Summary: "the job's files, in the order added",
			Example: "ferry listfiles nightly", Prints: true},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			in, err := env.Manager.Info(r.Args[0])
			if err != nil {
				return nil, err
			}
			if in.Files == nil {
				in.Files = []bits.FileInfo{}
			}
			return in.Files, nil
		},
		Text: textFiles,
	},
	verb("setremotename", GroupJobs, "change the remote name of the file at INDEX (0-based, the order added; download jobs)",
		"ferry setremotename nightly 0 https://mirror.example.org/a.iso",
		[]Arg{{Name: "INDEX"}, {Name: "URL"}}, func(m *engine.Manager, r Request) (any, error) {
			i, err := parseIndex(r.Args[1])
			if err != nil {
				return nil, err
			}
			return nil, m.SetRemoteName(r.Args[0], i, r.Args[2])
		}),
	// File3's getters read the file's record.
	fileGetter("gettemporaryname", "the path of the temporary file of the file at INDEX while it exists (null when none)",
		func(f bits.File) (any, error) {
			if f.TempName == "" || f.Committed || f.TempName == f.LocalName {
				return nil, nil // not started, in place (or HIGH_PERFORMANCE: none), or gone with the job
			}
			return f.TempName, nil
		}, nil),
	fileGetter("getvalidationstate", "whether the file at INDEX was declared valid (E_PENDING until it has fully arrived; false after its content was declared invalid)",
		func(f bits.File) (any, error) {
			switch {
			case f.Validation == "false":
				return false, nil
			case !f.Transferred:
				return nil, bits.Errorf(bits.E_PENDING, "the file has not fully arrived yet")
			}
			return f.Validation == "true" || f.Committed, nil
		}, nil),
	withHelp(verb("setvalidationstate", GroupJobs, "declare the content of the file at INDEX valid or not, once it has fully arrived (E_PENDING before)",
		"ferry setvalidationstate nightly 0 false",
		[]Arg{{Name: "INDEX"}, {Name: "true|false"}}, func(m *engine.Manager, r Request) (any, error) {
			i, err := parseIndex(r.Args[1])
			if err != nil {
				return nil, err
			}
			on, err := parseBool(r.Args[2])
			if err != nil {
				return nil, err
			}
			return nil, m.SetValidationState(r.Args[0], i, on)
		}),
		"false drops the file's content (its progress goes back to 0) and puts the job in ERROR with\n"+
			"BG_E_VALIDATION_FAILED; resume downloads the file again. complete implies true."),
	{
		Spec: Spec{Name: "getresponseheaders", Group: GroupGet, Args: []Arg{jobArg, {Name: "INDEX"}},
			Summary: "the header block of the last HTTP response for the file at INDEX (File5's HTTP_RESPONSE_HEADERS; since the engine started)",
			Example: "ferry getresponseheaders nightly 0", Prints: true},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			i, err := parseIndex(r.Args[1])
			if err != nil {
				return nil, err
			}
			return env.Manager.ResponseHeaders(r.Args[0], i)
		},
		Text: textLines,
	},
	stateVerb(verb("resume", GroupJobs, "queue the job for transfer (or retry it now after an error)", "ferry resume nightly", nil,
		func(m *engine.Manager, r Request) (any, error) { return nil, m.Resume(r.Args[0]) })),
	stateVerb(verb("suspend", GroupJobs, "stop the job's transfer until it is resumed", "ferry suspend nightly", nil,
		func(m *engine.Manager, r Request) (any, error) { return nil, m.Suspend(r.Args[0]) })),
	stateVerb(verb("cancel", GroupJobs, "cancel the job and delete its temporary files", "ferry cancel nightly", nil,
		func(m *engine.Manager, r Request) (any, error) {
			res, err := m.Cancel(r.Args[0])
			if err != nil {
				return nil, err
			}
			return note(res, "the job is cancelled, but some temporary files could not be deleted"), nil
		})),
	stateVerb(verb("complete", GroupJobs, "move the transferred files to their local names and end the job", "ferry complete nightly", nil,
		func(m *engine.Manager, r Request) (any, error) {
			res, err := m.Complete(r.Args[0])
			if err != nil {
				return nil, err
			}
			return note(res, "files that were not transferred were deleted; the others are in place"), nil
		})),
	verb("takeownership", GroupJobs, "make the caller the owner (drops credentials, custom headers, the client certificate and the notify command line)",
		"ferry takeownership nightly", nil,
		func(m *engine.Manager, r Request) (any, error) { return nil, m.TakeOwnership(r.Args[0]) }),
	{
		Spec: Spec{Name: "info", Group: GroupJobs, Args: []Arg{jobArg},
			Flags:   []Flag{{Name: "verbose", Help: "also list the files in the text output (--json always has them)"}},
			Summary: "everything about one job", Example: "ferry info nightly --json", Prints: true},
		Run:  func(_ context.Context, env *Env, r Request) (any, error) { return env.Manager.Info(r.Args[0]) },
		Text: textInfo,
	},
	{
		Spec: Spec{Name: "list", Group: GroupJobs,
			Flags: []Flag{
				{Name: "allusers", Help: "every user's jobs"},
				{Name: "verbose", Help: "include each job's files"},
			},
			Summary: "the caller's jobs (those not yet ACKNOWLEDGED or CANCELLED)", Example: "ferry list --verbose", Prints: true},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			return JobList{Jobs: env.Manager.Jobs(r.Has("allusers")), Files: r.Has("verbose")}, nil
		},
		Text: textList,
	},
	{
		Spec: Spec{Name: "reset", Group: GroupJobs, Flags: []Flag{{Name: "allusers", Help: "every user's jobs"}},
			Summary: "cancel all the caller's jobs", Example: "ferry reset", Prints: true},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			jobs := env.Manager.List(r.Has("allusers"), false)
			res := ResetResult{Total: len(jobs)}
			for _, j := range jobs {
				if _, err := env.Manager.Cancel(j.ID); err == nil {
					res.Cancelled++
				}
			}
			return res, nil
		},
		Text: textReset,
	},

	// Getters: one property each.
	infoGetter("getstate", "the state: QUEUED, CONNECTING, TRANSFERRING, SUSPENDED, ERROR, TRANSIENT_ERROR, TRANSFERRED, ACKNOWLEDGED or CANCELLED",
		func(in bits.JobInfo) any { return in.State }, nil),
	infoGetter("getprogress", "bytes and files transferred and in total (total bytes -1 while unknown)",
		func(in bits.JobInfo) any { return in.Progress }, textProgress),
	infoGetter("getbytestotal", "the bytes to transfer (-1 while any file's size is unknown)",
		func(in bits.JobInfo) any { return in.Progress.BytesTotal }, nil),
	infoGetter("getbytestransferred", "the bytes transferred",
		func(in bits.JobInfo) any { return in.Progress.BytesTransferred }, nil),
	infoGetter("getfilestotal", "the number of files", func(in bits.JobInfo) any { return in.Progress.FilesTotal }, nil),
	infoGetter("getfilestransferred", "the number of files transferred",
		func(in bits.JobInfo) any { return in.Progress.FilesTransferred }, nil),
	infoGetter("getcreationtime", "when the job was created (RFC 3339, UTC)",
		func(in bits.JobInfo) any { return in.Times.CreationTime }, nil),
	infoGetter("getmodificationtime", "when the job last changed (RFC 3339, UTC)",
		func(in bits.JobInfo) any { return in.Times.ModificationTime }, nil),
	infoGetter("getcompletiontime", "when the job became TRANSFERRED (null before)",
		func(in bits.JobInfo) any { return in.Times.TransferCompletionTime }, nil),
	jobGetter("geterror", "the error of a job in ERROR or TRANSIENT_ERROR (else BG_E_ERROR_INFORMATION_UNAVAILABLE)",
		func(m *engine.Manager, job string) (any, error) { return m.GetError(job) }, textError),
	infoGetter("geterrorcount", "how many times the transfer failed", func(in bits.JobInfo) any { return in.ErrorCount }, nil),
	infoGetter("gettype", "DOWNLOAD, UPLOAD or UPLOAD_REPLY", func(in bits.JobInfo) any { return in.Type }, nil),
	infoGetter("getowner", "the user who owns the job", func(in bits.JobInfo) any { return in.Owner }, nil),
	infoGetter("getpriority", "FOREGROUND, HIGH, NORMAL or LOW", func(in bits.JobInfo) any { return in.Priority }, nil),
	infoGetter("getdisplayname", "the display name", func(in bits.JobInfo) any { return in.DisplayName }, nil),
	infoGetter("getdescription", "the description", func(in bits.JobInfo) any { return in.Description }, nil),
	infoGetter("getminretrydelay", "seconds to wait before retrying after a transient error",
		func(in bits.JobInfo) any { return in.MinRetryDelay }, nil),
	infoGetter("getnoprogresstimeout", "seconds without progress after which a transient error becomes an ERROR",
		func(in bits.JobInfo) any { return in.NoProgressTimeout }, nil),
	infoGetter("getmaxdownloadtime", "seconds the job may spend transferring before it fails",
		func(in bits.JobInfo) any { return in.MaxDownloadTime }, nil),
	infoGetter("getnotifyflags", "the notification flags (0x1 transferred, 0x2 error, 0x4 disable, 0x8 modification, 0x10 file transferred)",
		func(in bits.JobInfo) any { return in.NotifyFlags }, nil),
	infoGetter("getnotifycmdline", "the program run when the job is transferred or fails (null when none)",
		func(in bits.JobInfo) any { return in.NotifyCmdLine }, textNotifyCmdLine),
	infoGetter("getproxyusage", "PRECONFIG, NO_PROXY, OVERRIDE or AUTODETECT", func(in bits.JobInfo) any { return in.Proxy.Usage }, nil),
	infoGetter("getproxylist", "the proxy list (OVERRIDE only)", func(in bits.JobInfo) any { return in.Proxy.List }, nil),
	infoGetter("getproxybypasslist", "the proxy bypass list (OVERRIDE only)", func(in bits.JobInfo) any { return in.Proxy.Bypass }, nil),
	jobGetter("getcustomheaders", "the custom HTTP headers, one \"Name: value\" a line",
		func(m *engine.Manager, job string) (any, error) {
			j, err := m.GetJob(job)
			if err != nil {
				return nil, err
			}
			if j.HeadersWriteOnly {
				return nil, bits.Errorf(bits.E_ACCESSDENIED, "the custom headers of job %s are write-only (makecustomheaderswriteonly): they are sent but not shown", j.ID)
			}
			return j.CustomHeaders, nil
		}, textLines),
	jobGetter("getreplyfilename", "where an upload-reply job stores the server's reply",
		func(m *engine.Manager, job string) (any, error) { return m.GetReplyFileName(job) }, nil),
	withHelp(jobGetter("getreplydata", "the server's reply to a TRANSFERRED upload-reply job, written raw to standard output",
		func(m *engine.Manager, job string) (any, error) {
			b, err := m.GetReplyData(job)
			if err != nil {
				return nil, err
			}
			if b == nil {
				b = []byte{}
			}
			return ReplyData{Size: len(b), Data: b}, nil
		}, textReplyData),
		"The bytes are written exactly as the server sent them (nothing when it sent none), so\n"+
			"'ferry getreplydata JOB > reply.json' saves them. With --json: {\"size\": N, \"data\": \"<base64>\"}.\n"+
			"Available from TRANSFERRED on, before and after complete (BG_E_INVALID_STATE before);\n"+
			"E_NOTIMPL for other job types; BG_E_TOO_LARGE above 1 MiB: read the reply file instead."),
	withHelp(jobGetter("getreplyprogress", "the reply half of an upload-reply job: bytes received and in total (-1 until the reply starts)",
		func(m *engine.Manager, job string) (any, error) { return m.GetReplyProgress(job) }, textReplyProgress),
		"With --json: {\"bytesTotal\": N, \"bytesTransferred\": N}. E_NOTIMPL for other job types."),
	jobGetter("gethttpmethod", "the HTTP method (GET for downloads, BITS_POST for uploads, unless set)",
		func(m *engine.Manager, job string) (any, error) { return m.GetHTTPMethod(job) }, nil),
	withHelp(jobGetter("getsecurityflags", "the HTTPS and redirect flags set by setsecurityflags (decimal; 0 by default)",
		func(m *engine.Manager, job string) (any, error) { return m.GetSecurityFlags(job) }, nil),
		securityFlagsHelp),
	withHelp(jobGetter("getclientcertificate", "the PEM certificate and key files the job presents to HTTPS servers (none by default)",
		func(m *engine.Manager, job string) (any, error) { return m.GetClientCertificate(job) }, textClientCert),
		"With --json: {\"certFile\": \"…\", \"keyFile\": \"…\"}, or null when the job has none."),
	infoGetter("getdynamic", "whether the job downloads dynamic content (no size or ranges needed)",
		func(in bits.JobInfo) any { return in.Dynamic }, nil),

	// Setters.
	setter("setpriority", "FOREGROUND transfers at once; HIGH, NORMAL and LOW share the background", "ferry setpriority nightly high",
		[]Arg{{Name: "foreground|high|normal|low"}}, func(m *engine.Manager, job string, a []string) error {
			p, err := bits.ParsePriority(a[0])
			if err != nil {
				return err
			}
			return m.SetPriority(job, p)
		}),
	setter("setdisplayname", "the display name (up to 256 characters)", "ferry setdisplayname nightly \"nightly build\"",
		[]Arg{{Name: "NAME"}}, func(m *engine.Manager, job string, a []string) error { return m.SetDisplayName(job, a[0]) }),
	setter("setdescription", "the description (up to 1,024 characters)", "ferry setdescription nightly \"the nightly ISO\"",
		[]Arg{{Name: "TEXT"}}, func(m *engine.Manager, job string, a []string) error { return m.SetDescription(job, a[0]) }),
	setter("setminretrydelay", "seconds to wait before retrying after a transient error (at least 5; default 600)", "ferry setminretrydelay nightly 60",
		[]Arg{{Name: "SECONDS"}}, func(m *engine.Manager, job string, a []string) error {
			n, err := parseSeconds("the retry delay", a[0])
			if err != nil {
				return err
			}
			return m.SetMinimumRetryDelay(job, n)
		}),
	setter("setnoprogresstimeout", "seconds without progress before a transient error becomes ERROR (0: never retry; default 1209600)",
		"ferry setnoprogresstimeout nightly 3600",
		[]Arg{{Name: "SECONDS"}}, func(m *engine.Manager, job string, a []string) error {
			n, err := parseSeconds("the no-progress timeout", a[0])
			if err != nil {
				return err
			}
			return m.SetNoProgressTimeout(job, n)
		}),
	setter("setmaxdownloadtime", "seconds the job may transfer before it fails (0: no limit; default 7776000)", "ferry setmaxdownloadtime nightly 86400",
		[]Arg{{Name: "SECONDS"}}, func(m *engine.Manager, job string, a []string) error {
			n, err := parseSeconds("the maximum download time", a[0])
			if err != nil {
				return err
			}
			return m.SetMaximumDownloadTime(job, n)
		}),
	setter("setnotifyflags", "which events notify: 0x1 transferred, 0x2 error, 0x4 disable, 0x8 modification, 0x10 file transferred (decimal or 0x-hex)",
		"ferry setnotifyflags nightly 3",
		[]Arg{{Name: "FLAGS"}}, func(m *engine.Manager, job string, a []string) error {
			f, err := parseNotifyFlags(a[0])
			if err != nil {
				return err
			}
			return m.SetNotifyFlags(job, f)
		}),
	setter("setnotifycmdline", "run PROGRAM (an absolute path, no shell) when the job is transferred or fails; NULL NULL clears it",
		"ferry setnotifycmdline nightly /usr/local/bin/fetched \"fetched nightly\"",
		[]Arg{{Name: "PROGRAM"}, {Name: "PARAMETERS", Optional: true}}, func(m *engine.Manager, job string, a []string) error {
			params := ""
			if len(a) > 1 {
				params = nullable(a[1])
			}
			return m.SetNotifyCmdLine(job, nullable(a[0]), params)
		}),
	setter("setproxysettings", "how to reach the servers; PROXYLIST and BYPASSLIST go with override only (NULL for none)",
		"ferry setproxysettings nightly override http://proxy:3128 \"<local>\"",
		[]Arg{{Name: "preconfig|autodetect|no_proxy|override"}, {Name: "PROXYLIST", Optional: true}, {Name: "BYPASSLIST", Optional: true}},
		func(m *engine.Manager, job string, a []string) error {
			u, err := parseProxyUsage(a[0])
			if err != nil {
				return err
			}
			var list, bypass string
			if len(a) > 1 {
				list = nullable(a[1])
			}
			if len(a) > 2 {
				bypass = nullable(a[2])
			}
			return m.SetProxySettings(job, u, list, bypass)
		}),
	setter("setcredentials", "credentials for the server or the proxy; the password is stored sealed and never shown (\"-\" reads it from standard input)",
		"ferry setcredentials nightly server basic alice -",
		[]Arg{{Name: "server|proxy"}, {Name: "basic|digest|ntlm|negotiate"}, {Name: "USER"}, {Name: "PASSWORD", Kind: ArgSecret}},
		func(m *engine.Manager, job string, a []string) error {
			t, err := parseTarget(a[0])
			if err != nil {
				return err
			}
			s, err := parseScheme(a[1])
			if err != nil {
				return err
			}
			return m.SetCredentials(job, bits.Credential{Target: t, Scheme: s, UserName: a[2], Password: a[3]})
		}),
	verb("removecredentials", GroupSet, "remove the credentials for a target and scheme", "ferry removecredentials nightly server basic",
		[]Arg{{Name: "server|proxy"}, {Name: "SCHEME"}}, func(m *engine.Manager, r Request) (any, error) {
			t, err := parseTarget(r.Args[1])
			if err != nil {
				return nil, err
			}
			s, err := parseScheme(r.Args[2])
			if err != nil {
				return nil, err
			}
			res, err := m.RemoveCredentials(r.Args[0], t, s)
			if err != nil {
				return nil, err
			}
			return note(res, "the job had no such credentials"), nil
		}),
	setter("setcustomheaders", "HTTP headers sent on every request, each \"Name: value\"; none (or NULL) removes them",
		"ferry setcustomheaders nightly \"X-Token: 42\" \"Accept-Language: en\"",
		[]Arg{{Name: "HEADER", Optional: true, Variadic: true}}, func(m *engine.Manager, job string, a []string) error {
			if len(a) == 1 && strings.EqualFold(a[0], "NULL") {
				a = nil
			}
			return m.SetCustomHeaders(job, strings.Join(a, "\r\n"))
		}),
	verb("makecustomheaderswriteonly", GroupSet, "from now on send the custom headers but never show them (getcustomheaders: E_ACCESSDENIED); one way",
		"ferry makecustomheaderswriteonly nightly", nil,
		func(m *engine.Manager, r Request) (any, error) { return nil, m.MakeCustomHeadersWriteOnly(r.Args[0]) }),
	setter("sethttpmethod", "the HTTP verb, before the first resume; any but the default makes the job FOREGROUND",
		"ferry sethttpmethod nightly GET",
		[]Arg{{Name: "METHOD"}}, func(m *engine.Manager, job string, a []string) error { return m.SetHTTPMethod(job, a[0]) }),
	setter("setdynamic", "download dynamic content (no size or ranges needed; restarts from 0 when interrupted), before the first resume",
		"ferry setdynamic nightly true",
		[]Arg{{Name: "true|false"}}, func(m *engine.Manager, job string, a []string) error {
			on, err := parseBool(a[0])
			if err != nil {
				return err
			}
			return m.SetDynamic(job, on)
		}),
	withHelp(setter("setproperty", "set a job property by name (IBackgroundCopyJob5): "+propertyNames(),
		"ferry setproperty nightly CONNECTIONS 8",
		[]Arg{{Name: "NAME"}, {Name: "VALUE"}}, func(m *engine.Manager, job string, a []string) error {
			return m.SetProperty(job, a[0], a[1])
		}), propertyHelp),
	{
		Spec: Spec{Name: "getproperty", Group: GroupGet, Args: []Arg{jobArg, {Name: "NAME"}},
			Summary: "one job property by name (" + propertyNames() + ")", Help: propertyHelp,
			Example: "ferry getproperty nightly CONNECTIONS", Prints: true},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			return env.Manager.GetProperty(r.Args[0], r.Args[1])
		},
		Text: textScalar,
	},
	setter("setreplyfilename", "where an upload-reply job stores the server's reply (an absolute path)",
		"ferry setreplyfilename upjob /home/alice/reply.txt",
		[]Arg{{Name: "FILE"}}, func(m *engine.Manager, job string, a []string) error { return m.SetReplyFileName(job, nullable(a[0])) }),
	withHelp(setter("setsecurityflags", "HTTPS checks to relax and the redirect policy: a sum of the flags below (decimal or 0x-hex)",
		"ferry setsecurityflags nightly 0x8",
		[]Arg{{Name: "FLAGS"}}, func(m *engine.Manager, job string, a []string) error {
			f, err := parseMask("security flags", a[0])
			if err != nil {
				return err
			}
			return m.SetSecurityFlags(job, f)
		}), securityFlagsHelp),
	withHelp(setter("setclientcertificate", "present a client certificate to HTTPS servers: a PEM certificate (chain) file and its PEM private key file",
		"ferry setclientcertificate nightly ~/.ssl/alice.crt ~/.ssl/alice.key",
		[]Arg{{Name: "CERTFILE", Kind: ArgPath}, {Name: "KEYFILE", Kind: ArgPath}}, func(m *engine.Manager, job string, a []string) error {
			return m.SetClientCertificate(job, a[0], a[1])
		}),
		"Ferry's cross-platform stand-in for bitsadmin's /setclientcertificatebyid and /setclientcertificatebyname,\n"+
			"which name a certificate in a Windows store. Both files are checked now and read again for every\n"+
			"transfer; only their paths are recorded, so keep the key readable by you alone. takeownership removes it."),
	verb("removeclientcertificate", GroupSet, "stop presenting a client certificate (S_FALSE when the job had none)",
		"ferry removeclientcertificate nightly", nil,
		func(m *engine.Manager, r Request) (any, error) {
			res, err := m.RemoveClientCertificate(r.Args[0])
			if err != nil {
				return nil, err
			}
			return note(res, "the job had no client certificate"), nil
		}),

	// Engine.
	{
		Spec: Spec{Name: "config", Group: GroupEngine, Summary: "the engine's settings (BITS' group policies)",
			Help: settingsHelpText, Example: "ferry config", Prints: true},
		Run: func(_ context.Context, env *Env, _ Request) (any, error) {
			return env.Manager.AllSettings(), nil
		},
		Text: textConfig,
	},
	{
		Spec: Spec{Name: "config get", Group: GroupEngine, Args: []Arg{{Name: "KEY"}}, Summary: "one setting's value",
			Help: settingsHelpText, Example: "ferry config get maxJobsPerUser", Prints: true},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			k, err := settingKey(r.Args[0])
			if err != nil {
				return nil, err
			}
			if engine.IsTextSetting(k) {
				return env.Manager.TextSetting(k), nil
			}
			return env.Manager.Settings().Get(k), nil
		},
		Text: textScalar,
	},
	{
		Spec: Spec{Name: "config set", Group: GroupEngine, Args: []Arg{{Name: "KEY"}, {Name: "VALUE"}},
			Summary: "change a setting; it applies at once and is kept",
			Help:    settingsHelpText, Example: "ferry config set bandwidth.background 512K"},
		Run: func(_ context.Context, env *Env, r Request) (any, error) {
			return nil, env.Manager.SetSetting(r.Args[0], r.Args[1])
		},
	},
	{
		Spec: Spec{Name: "unreadable", Group: GroupEngine,
			Summary: "records the engine could not read when it started, set aside so that the rest works",
			Help: "A job, file, setting or upload session record that the database holds but cannot be read is moved out\n" +
				"of the live tables (kept in its quarantine table) and copied to FERRY_HOME/quarantine/; the engine\n" +
				"starts and serves everything else. `ferry list` mentions them on stderr. Jobs whose sealed credentials\n" +
				"no key here can open are listed too, as kind credentials (see `ferry help secrets`).",
			Example: "ferry unreadable --json", Prints: true},
		Run: func(_ context.Context, env *Env, _ Request) (any, error) {
			return env.Manager.Unreadable(), nil
		},
		Text: textUnreadable,
	},
	{
		Spec: Spec{Name: "secrets", Group: GroupEngine,
			Summary: "the secret key that seals credentials, and the jobs whose credentials it cannot open",
			Help: "Passwords and Authorization, Proxy-Authorization and Cookie headers are sealed under FERRY_HOME/secret.key.\n" +
				"If that file is lost while sealed credentials exist, no new key is made: the jobs that hold them are\n" +
				"listed here (and by `ferry list`, `ferry info` and the window) and fail with NTE_BAD_KEYSET instead of\n" +
				"transferring without them. Restore the file and restart the engine, or drop them with `ferry secrets reset`.",
			Example: "ferry secrets --json", Prints: true},
		Run: func(_ context.Context, env *Env, _ Request) (any, error) {
			return env.Manager.Secrets(), nil
		},
		Text: textSecrets,
	},
	{
		Spec: Spec{Name: "secrets reset", Group: GroupEngine,
			Summary: "drop the sealed credentials no key here can open (the jobs stay); a missing key is then made anew",
			Help: "The jobs keep everything else: give them their credentials again (setcredentials, setcustomheaders)\n" +
				"and resume them. Once no sealed secret remains, a missing FERRY_HOME/secret.key is made anew.\n" +
				"Only run it when the old key cannot be restored.",
			Example: "ferry secrets reset", Prints: true},
		Run: func(_ context.Context, env *Env, _ Request) (any, error) {
			return env.Manager.ResetSecrets()
		},
		Text: textSecretsReset,
	},
	{
		// The window's settings page asks the engine; `ferry browser status`
		// (backend/cli) runs the same check locally, needing no engine.
		Spec: Spec{Name: "browser status", Group: GroupEngine,
			Summary: "whether each browser has the host manifest, and when its extension last reached Ferry (connected)",
			Example: "ferry browser status --json", Prints: true},
		Run: func(_ context.Context, env *Env, _ Request) (any, error) {
			if env.Home == "" {
				return nil, bits.Errorf(bits.E_NOTIMPL, "this engine does not know its FERRY_HOME")
			}
			return manifests.StatusAll(env.Home)
		},
		Text: TextBrowserStatus,
	},
	{
		Spec: Spec{Name: "shutdown", Group: GroupEngine, Summary: "stop the engine cleanly (transfers pause at a saved offset)",
			Example: "ferry shutdown"},
		Run: func(_ context.Context, env *Env, _ Request) (any, error) {
			if env.Shutdown == nil {
				return nil, bits.Errorf(bits.E_NOTIMPL, "this engine cannot be stopped from outside")
			}
			env.Shutdown()
			return nil, nil
		},
	},
}

// withHelp gives an operation its longer help.
func withHelp(op *Op, help string) *Op {
	op.Help = help
	return op
}

// propertyHelp is built from engine.JobProperties, the one list of them.
var propertyHelp = func() string {
	var b strings.Builder
	b.WriteString("IBackgroundCopyJob5's SetProperty/GetProperty by name (BITS_JOB_PROPERTY_ may prefix it):\n")
	for _, p := range engine.JobProperties {
		var when []string
		if p.DownloadOnly {
			when = append(when, "download jobs")
		}
		if p.BeforeAddFile {
			when = append(when, "before the first file")
		}
		fmt.Fprintf(&b, "  %-34s %s", p.Name, p.Help)
		if len(when) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(when, ", "))
		}
		b.WriteString("\n")
	}
	b.WriteString("Refusals: BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE,\n" +
		"BG_E_READ_ONLY_PROPERTY_AFTER_RESUME; a BITS property Ferry does not have yet is E_NOTIMPL, any other\n" +
		"name BG_E_UNKNOWN_PROPERTY_ID.")
	return b.String()
}()

func propertyNames() string {
	names := make([]string, 0, len(engine.JobProperties))
	for _, p := range engine.JobProperties {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

const securityFlagsHelp = `The flags are a sum of these (IBackgroundCopyJobHttpOptions::SetSecurityFlags):
  0x1    BG_SSL_ENABLE_CRL_CHECK                     accepted; Ferry fetches no revocation lists
  0x2    BG_SSL_IGNORE_CERT_CN_INVALID               accept a certificate for another host name
  0x4    BG_SSL_IGNORE_CERT_DATE_INVALID             accept an expired or not yet valid certificate
  0x8    BG_SSL_IGNORE_UNKNOWN_CA                    accept an unknown authority (self-signed)
  0x10   BG_SSL_IGNORE_CERT_WRONG_USAGE              accept a certificate not meant for servers
  0x0    BG_HTTP_REDIRECT_POLICY_ALLOW_SILENT        follow redirects (the default)
  0x100  BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT        follow; record the final URL as remote name
  0x200  BG_HTTP_REDIRECT_POLICY_DISALLOW            fail with the redirect's HTTP error
  0x800  BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP allow a redirect from https to http
Pick one redirect policy (it applies to downloads). Other bits are E_NOTIMPL. A transferring job
restarts with the new flags.`

// ReplyData is what getreplydata prints with --json: the reply's size and
// its bytes (base64 in JSON).
type ReplyData struct {
	Size int    `json:"size"`
	Data []byte `json:"data"`
}

// ResetResult is what reset prints.
type ResetResult struct {
	Cancelled int `json:"cancelled"`
	Total     int `json:"total"`
}
