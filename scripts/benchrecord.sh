# Sourced by the make bench cases (scripts/bench.sh, scripts/bench-*.sh):
# writes their figures as records for cmd/benchreport. The format is at the
# top of scripts/bench.sh. Without BENCH_OUT (a case run on its own) both
# functions do nothing, and the case prints only its human output.

# bench_record KEY=VALUE...: appends one record to $BENCH_OUT. Keys: case,
# metric, tool, value, unit, vs, ratio, target, note. value and ratio must
# be JSON numbers (awk's printf "%.3f" is one); anything else is refused,
# so a failed measurement cannot become a figure.
bench_record() {
	[ -n "${BENCH_OUT:-}" ] || return 0
	local kv k v out="" sep=""
	for kv in "$@"; do
		[[ $kv == *=* ]] || { echo "bench_record: $kv is not KEY=VALUE" >&2; return 1; }
		k=${kv%%=*} v=${kv#*=}
		case $k in
		value | ratio)
			[[ $v =~ ^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] ||
				{ echo "bench_record: $k=$v is not a number" >&2; return 1; }
			out+="$sep\"$k\":$v"
			;;
		case | metric | tool | unit | vs | target | note)
			v=${v//\\/\\\\} v=${v//\"/\\\"}
			out+="$sep\"$k\":\"$v\""
			;;
		*) echo "bench_record: unknown key $k" >&2; return 1 ;;
		esac
		sep=,
	done
	printf '{%s}\n' "$out" >>"$BENCH_OUT"
}

# bench_note CASE TEXT: a sentence shown under the case's table (CASE ""
# for the whole run: under the report's first line).
bench_note() {
	bench_record case="$1" note="$2"
}
