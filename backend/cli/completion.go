package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"ferry/backend/bits"
	"ferry/backend/engine"
	"ferry/backend/ops"
)

var globalFlagNames = []string{"--json", "--no-autostart", "--help"}

func runCompletion(c *cli, r ops.Request) int {
	switch strings.ToLower(r.Args[0]) {
	case "bash":
		writeBash(c.stdout)
	case "zsh":
		writeZsh(c.stdout)
	case "fish":
		writeFish(c.stdout)
	default:
		return c.fail(bits.Errorf(bits.E_INVALIDARG, "no completion for the shell %q (bash, zsh or fish)", r.Args[0]))
	}
	return exitOK
}

// topWords are the words that may follow "ferry": each command's first word.
func topWords() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range commands {
		w := strings.Fields(c.Name)[0]
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// jobCommands take a JOB first.
func jobCommands() []string {
	var out []string
	for _, c := range commands {
		if len(c.Args) > 0 && c.Args[0].Kind == ops.ArgJob {
			out = append(out, c.Name)
		}
	}
	sort.Strings(out)
	return out
}

func flagWords(c *command) []string {
	var out []string
	for _, f := range c.Flags {
		out = append(out, "--"+f.Name)
	}
	return append(out, globalFlagNames...)
}

func settingKeys() []string {
	var out []string
	for _, d := range engine.SettingDefs {
		out = append(out, d.Key)
	}
	return out
}

func writeBash(w io.Writer) {
	fmt.Fprintf(w, `# bash completion for ferry; load with: source <(ferry completion bash)
_ferry() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=( $(compgen -W "%s" -- "$cur") )
        return
    fi
    local cmd="${COMP_WORDS[1]#/}"
    if [[ "$cur" == -* ]]; then
        case "$cmd" in
`, strings.Join(topWords(), " "))
	for _, c := range commands {
		if strings.Contains(c.Name, " ") {
			continue
		}
		fmt.Fprintf(w, "            %s) COMPREPLY=( $(compgen -W %q -- \"$cur\") ) ;;\n", c.Name, strings.Join(flagWords(c), " "))
	}
	fmt.Fprintf(w, `            *) COMPREPLY=( $(compgen -W %q -- "$cur") ) ;;
        esac
        return
    fi
    case "$cmd" in
        help) COMPREPLY=( $(compgen -W "%s" -- "$cur") ); return ;;
        completion) COMPREPLY=( $(compgen -W "bash zsh fish" -- "$cur") ); return ;;
        config)
            if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "get set" -- "$cur") ); return; fi
            if [ "$COMP_CWORD" -eq 3 ]; then COMPREPLY=( $(compgen -W "%s" -- "$cur") ); return; fi ;;
        setpriority) if [ "$COMP_CWORD" -eq 3 ]; then COMPREPLY=( $(compgen -W "foreground high normal low" -- "$cur") ); return; fi ;;
        setproxysettings) if [ "$COMP_CWORD" -eq 3 ]; then COMPREPLY=( $(compgen -W "preconfig autodetect no_proxy override" -- "$cur") ); return; fi ;;
        setdynamic) if [ "$COMP_CWORD" -eq 3 ]; then COMPREPLY=( $(compgen -W "true false" -- "$cur") ); return; fi ;;
    esac
    if [ "$COMP_CWORD" -eq 2 ]; then
        case " %s " in
            *" $cmd "*)
                COMPREPLY=( $(compgen -W "$(ferry list --no-autostart 2>/dev/null | awk 'NR>1 {print $1}')" -- "$cur") )
                return ;;
        esac
    fi
    COMPREPLY=( $(compgen -f -- "$cur") )
}
complete -o filenames -F _ferry ferry
`, strings.Join(globalFlagNames, " "), strings.Join(topWords(), " "), strings.Join(settingKeys(), " "), strings.Join(jobCommands(), " "))
}

// zshQuote escapes a description for _describe ("name:description").
func zshQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `:`, `\:`)
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeZsh(w io.Writer) {
	fmt.Fprintln(w, "#compdef ferry\n# zsh completion for ferry; install with: ferry completion zsh > \"${fpath[1]}/_ferry\"\n_ferry() {\n  local -a cmds\n  cmds=(")
	seen := map[string]bool{}
	for _, c := range commands {
		word := strings.Fields(c.Name)[0]
		if seen[word] {
			continue
		}
		seen[word] = true
		fmt.Fprintf(w, "    %s\n", zshQuote(word+":"+c.Summary))
	}
	fmt.Fprintln(w, "  )\n  if (( CURRENT == 2 )); then\n    _describe 'command' cmds\n    return\n  fi\n  local cmd=${words[2]#/}\n  case $cmd in")
	for _, c := range commands {
		if strings.Contains(c.Name, " ") {
			continue
		}
		fmt.Fprintf(w, "    %s) compadd -- %s ;;\n", c.Name, strings.Join(flagWords(c), " "))
	}
	fmt.Fprintln(w, "  esac\n  _files\n}\n_ferry \"$@\"")
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func writeFish(w io.Writer) {
	fmt.Fprintln(w, "# fish completion for ferry; install with: ferry completion fish > ~/.config/fish/completions/ferry.fish")
	fmt.Fprintln(w, "complete -c ferry -l json -d 'print data as JSON'")
	fmt.Fprintln(w, "complete -c ferry -l no-autostart -d 'fail instead of starting an engine'")
	seen := map[string]bool{}
	for _, c := range commands {
		word := strings.Fields(c.Name)[0]
		if !seen[word] {
			seen[word] = true
			fmt.Fprintf(w, "complete -c ferry -f -n '__fish_use_subcommand' -a %s -d %s\n", word, fishQuote(c.Summary))
		}
		for _, f := range c.Flags {
			req := ""
			if f.Value != "" {
				req = " -r"
			}
			fmt.Fprintf(w, "complete -c ferry -n '__fish_seen_subcommand_from %s' -l %s%s -d %s\n", word, f.Name, req, fishQuote(f.Help))
		}
	}
	fmt.Fprintf(w, "complete -c ferry -f -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	fmt.Fprintf(w, "complete -c ferry -f -n '__fish_seen_subcommand_from config' -a 'get set %s'\n", strings.Join(settingKeys(), " "))
	fmt.Fprintf(w, "complete -c ferry -f -n '__fish_seen_subcommand_from %s' -a '(ferry list --no-autostart 2>/dev/null | awk \"NR>1 {print \\$1}\")'\n", strings.Join(jobCommands(), " "))
}
