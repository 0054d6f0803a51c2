#!/bin/sh
# bench/store: value frames and the store on three data sets, beside the
# zstd command at the same level on the same bytes, REPEATS rounds
# (default 5), every measurement of a round taken in turn, then one table
# of medians with ratios.
#
#   sh bench/store/run.sh BUILD_DIR [REPEATS]
#
# BUILD_DIR is a Release build that has bench/bench_store; this script
# builds nothing. Environment:
#   SETS   which data sets (default "text numeric random")
#   MIB    MiB of each data set (default 64)
#   KIB    KiB of each result (default 1024)
#   ZSTD   the zstd command (default zstd)
#   CLOCK  wall (default): MB/s of wall-clock time; cpu: of CPU time
#          (user and system: of bench_store's process, with the store's
#          writer thread, and of the zstd process), which a busy machine
#          disturbs less but which leaves out waiting for the disk
# The data sets are written once as files of KIB KiB, one per result, to a
# temporary folder (under $TMPDIR, else /tmp) that is removed at the end;
# each round's store is made there too. A zstd that is missing shows as
# "not installed"; a measurement that fails shows as "fail" and makes the
# exit status 1.
set -u
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

bench_args "$@"
sets=${SETS:-text numeric random}
mib=${MIB:-64}
kib=${KIB:-1024}
zstd=${ZSTD:-zstd}
clock=${CLOCK:-wall}
case $clock in
wall) off=0 ;;
cpu) off=6 ;;
*) usage ;;
esac

bs=$build/bench/bench_store
if [ ! -x "$bs" ]; then
	echo "$0: $bs not found; build with:" >&2
	echo "  cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release" \
		"&& cmake --build $build --target bench_store -j2" >&2
	exit 2
fi

# A measurement that hangs must not hang the table.
limit=
have timeout && limit="timeout 600"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-store.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
status=0

# zstd at level 1 on one thread, as hd_value_encode() runs in the thread
# that calls it (an older zstd without --single-thread has no threads by
# default).
zst1=
zd="$zstd -d -q -c"
if have "$zstd"; then
	printf 'probe' >"$tmp/probe"
	if "$zstd" -1 --single-thread -q -c "$tmp/probe" >/dev/null 2>&1; then
		zst1=--single-thread
	fi
	zver=$("$zstd" -V 2>/dev/null | sed -n 's/.* v\([0-9][0-9.]*\).*/\1/p')
fi
zc="$zstd -1${zst1:+ $zst1} -q -c"

# The files of each data set, for zstd: one per result, all compressed by
# one zstd process, each file a zstd frame of its own (as hodos makes one
# frame per result), then all the frames decompressed by one process. The
# compressed size is taken once, outside the clock: it does not change.
for set in $sets; do
	if ! "$bs" gen "$set" "$tmp/$set" "$mib" "$kib" >"$tmp/raw_$set"; then
		echo "$0: cannot make the data set $set" >&2
		exit 1
	fi
	if have "$zstd"; then
		# shellcheck disable=SC2086
		if $zc "$tmp/$set"/* >"$tmp/$set.zst"; then
			wc -c <"$tmp/$set.zst" | tr -d ' ' >"$tmp/zsize_$set"
		else
			echo fail >"$tmp/zsize_$set"
			status=1
		fi
	fi
done

# zbench SET: zstd's own benchmark of libzstd at level 1, in memory, on
# the set's files in blocks of the results' size: its compression and
# decompression MB/s (the fastest of its runs of 1 second, wall-clock),
# appended to $tmp/zb_SET.
zbench() {
	# shellcheck disable=SC2086
	if ! line=$($limit "$zstd" -q -b1 -i1 -B"${kib}KiB" $zst1 \
		"$tmp/$1"/* 2>/dev/null | awk '/MB\/s/ {
			for (i = 2; i <= NF; i++) if ($i == "MB/s") o = o " " $(i - 1)
			print o
		}') || [ -z "$line" ]; then
		line=fail
		status=1
		echo "$0: zstd -b1 on $1 failed" >&2
	fi
	echo "$line" >>"$tmp/zb_$1"
}

r=0
while [ "$r" -lt "$repeats" ]; do
	# What starting zstd costs (a 5-byte file), taken off its times below,
	# as hodos's are taken in a process already running.
	# shellcheck disable=SC2086
	have "$zstd" && measure zstart "$bs" time $zc "$tmp/probe"
	for set in $sets; do
		measure "h_$set" "$bs" run "$set" "$tmp/store" "$mib" "$kib"
		rm -rf "$tmp/store"
		if have "$zstd"; then
			# shellcheck disable=SC2086
			measure "zc_$set" "$bs" time $zc "$tmp/$set"/*
			# shellcheck disable=SC2086
			measure "zd_$set" "$bs" time $zd "$tmp/$set.zst"
			zbench "$set"
		fi
	done
	r=$((r + 1))
	[ -t 2 ] && printf '.' >&2
done
[ -t 2 ] && printf '\n' >&2




# mbps RAW MS: MB/s of RAW bytes in MS milliseconds.
mbps() { calc %.0f 'a / b / 1e3' "$1" "$2"; }

zcol=1
[ "$clock" = cpu ] && zcol=2
zstart=$(median zstart "$zcol")
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "bench/store: $(nproc 2>/dev/null || echo '?') CPUs (${cpu:-unknown})," \
	"medians of $repeats runs, $(date -u '+%Y-%m-%d %H:%M UTC'), load" \
	"$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
if have "$zstd"; then
	peer="zstd ${zver:-?}: $zc FILES and $zd FILE, less $(calc %.1f a \
		"$zstart") ms to start zstd"
else
	peer="zstd: not installed"
fi
echo "$mib MiB per data set in results of $kib KiB; MB/s = 10^6 bytes of" \
	"results per second of $clock time;"
echo "$peer"
echo

# The zstd columns are wide enough for "not installed" when it is.
zw=8
have "$zstd" || zw=13
fmt="%-8s | %6s %${zw}s | %6s %${zw}s %5s | %6s %${zw}s %5s | %6s %6s %6s %6s\\n"
# shellcheck disable=SC2059
printf "$fmt" "" "ratio" "" "encode" "MB/s" "" "decode" "MB/s" "" \
	"store" "MB/s" "reopen" "pack"
# shellcheck disable=SC2059
printf "$fmt" "data set" "hodos" "zstd -1" "hodos" "zstd -1" "h/z" \
	"hodos" "zstd -d" "h/z" "put" "get" "ms" "/raw"
notes=""
for set in $sets; do
	raw=$(median "h_$set" 1)
	[ "$raw" = - ] && raw=$(awk '{ print $1 }' "$tmp/raw_$set")
	frames=$(median "h_$set" 2)
	pack=$(median "h_$set" 3)
	n=$(median "h_$set" 4)
	rawf=$(median "h_$set" 5)
	he=$(median "h_$set" $((off + 6)))
	hd=$(median "h_$set" $((off + 7)))
	put=$(median "h_$set" $((off + 8)))
	get=$(median "h_$set" $((off + 9)))
	close=$(median "h_$set" $((off + 10)))
	reopen=$(median "h_$set" $((off + 11)))
	faults=""
	for c in 18 19 20 21; do
		faults="$faults $(calc %.0f a "$(median "h_$set" $c)")"
	done
	if have "$zstd"; then
		zsize=$(cat "$tmp/zsize_$set")
		zr=$(calc %.3f 'a / b' "$raw" "$zsize")
		ze=$(mbps "$raw" "$(calc %.3f 'a - b' "$(median "zc_$set" "$zcol")" \
			"$zstart")")
		zdd=$(mbps "$raw" "$(calc %.3f 'a - b' "$(median "zd_$set" "$zcol")" \
			"$zstart")")
	else
		zsize=-
		zr="not installed"
		ze="not installed"
		zdd="not installed"
	fi
	# shellcheck disable=SC2059
	printf "$fmt" "$set" "$(calc %.3f 'a / b' "$raw" "$frames")" "$zr" \
		"$(calc %.0f a "$he")" "$ze" "$(calc %.2f 'a / b' "$he" "$ze")" \
		"$(calc %.0f a "$hd")" "$zdd" "$(calc %.2f 'a / b' "$hd" "$zdd")" \
		"$(calc %.0f a "$put")" "$(calc %.0f a "$get")" \
		"$(calc %.1f a "$reopen")" "$(calc '%.1f%%' '100 * a / b' "$pack" "$raw")"
	zb="zstd -b1 (libzstd in memory): not installed"
	if have "$zstd"; then
		zb="zstd -b1 (libzstd in memory): encode $(calc %.0f a \
			"$(median "zb_$set" 1)") MB/s, decode $(calc %.0f a \
			"$(median "zb_$set" 2)") MB/s"
	fi
	# shellcheck disable=SC2086
	set -- $faults
	notes="$notes
  $set: $(calc %.0f a "$raw") bytes in $n results; frames $(calc %.0f a \
		"$frames") bytes (zstd: $zsize); $rawf of $n frames raw
    put includes a close of $(calc %.0f a "$close") ms; minor page faults\
 per MiB: encode $1, decode $2, put $3, get $4
    $zb"
done
echo
echo "ratio: result bytes / stored bytes (a frame's 32-byte header counted);" \
	"h/z: hodos MB/s / zstd MB/s;"
echo "store: put = hd__store_put of every result + the close that writes" \
	"and syncs them, get = hd__store_get"
echo "(warm page cache), reopen = hd__store_open of the pack just written;" \
	"pack/raw: pack bytes / result bytes."
echo "Checked on every run: values read back equal; no frame > content + 32" \
	"bytes, no pack > content + 88"
echo "bytes a result; every random result stored raw.$notes"
exit "$status"
