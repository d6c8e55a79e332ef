package desktop

// notifyScript shows a notification whose texts arrive as arguments
// (`on run argv`), never spliced into the script, so that a job name with
// quotes or backslashes cannot change what runs.
const notifyScript = `on run argv
display notification (item 2 of argv) with title "Ferry" subtitle (item 1 of argv)
end run`

// appleScriptArgs is osascript's command line for a notification (macOS).
func appleScriptArgs(msg notification) []string {
	return []string{"-e", notifyScript, msg.summary, msg.body}
}
