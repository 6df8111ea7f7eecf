# Common settings and helpers, sourced by every script of scripts/.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
TREE=$BUILD/linux                 # prepared kernel tree (git, first commit = pristine)
KSRC_TAR=/usr/src/linux-source-6.12.tar.xz
JOBS=${JOBS:-$(nproc)}
CLANG=${CLANG:-clang-19}
LLVM_STRIP=${LLVM_STRIP:-llvm-strip-19}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}
# Cache hits across clones (CI builds in a fresh clone elsewhere).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$TOP} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

say() { printf '==> %s %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# run_logged LOG CMD...: run CMD with output to LOG; on failure print the
# interesting lines of LOG and where it is.
run_logged() {
	local log=$1; shift
	if ! "$@" >"$log" 2>&1; then
		grep -E 'error|Error|ERROR|undefined|warning: .*\[-W' "$log" | head -40 >&2 || true
		tail -n 15 "$log" >&2
		die "'$*' failed, full log: $log"
	fi
}

# Packages the harness needs, as "command-or-file:package".
NEEDS="
/usr/src/linux-source-6.12.tar.xz:linux-source-6.12
clang-19:clang-19 ld.lld-19:lld-19 llvm-strip-19:llvm-19 pahole:dwarves
gcc:gcc make:make bc:bc flex:flex bison:bison ccache:ccache cpio:cpio
xz:xz-utils rsync:rsync patch:patch git:git perl:perl python3:python3
qemu-system-x86_64:qemu-system-x86 ip:iproute2 tc:iproute2
/bin/busybox:busybox-static jq:jq
/usr/share/bash-completion/bash_completion:bash-completion
/usr/include/libelf.h:libelf-dev /usr/include/zlib.h:zlib1g-dev
/usr/include/zstd.h:libzstd-dev /usr/include/openssl/ssl.h:libssl-dev
/usr/include/sys/capability.h:libcap-dev
/usr/lib/python3/dist-packages/ply:python3-ply
/usr/lib/python3/dist-packages/git:python3-git
"

ensure_packages() {
	local item what pkg missing=""
	for item in $NEEDS; do
		what=${item%%:*}; pkg=${item#*:}
		case $what in
		/*) [ -e "$what" ] && continue ;;
		*) command -v "$what" >/dev/null 2>&1 && continue ;;
		esac
		case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
	done
	[ -z "$missing" ] && return 0
	say "installing missing packages:$missing"
	[ "$(id -u)" = 0 ] || die "need root to install:$missing"
	local log=$BUILD/apt.log
	mkdir -p "$BUILD"
	if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends $missing; } >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "apt-get could not install:$missing (log: $log)"
	fi
}

# build_all FLAVOUR: the one build path of the test, demo and benchmark
# commands. Applies patches/ (scripts/prepare) and rebuilds what is stale: the
# kernel of FLAVOUR (debug or release), libbpf, bpftool, the selftests and
# the sample.
build_all() {
	"$TOP/scripts/prepare"
	"$TOP/scripts/build-kernel" "$1"
	"$TOP/scripts/build-user" "$1"
}
