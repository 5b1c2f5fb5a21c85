#!/usr/bin/env bash
# Makes one QEMU available for 'bench qemu --qemu PATH' and prints that path (the only line on
# stdout; progress goes to stderr). Each kind but 'debian' lives under .build/qemu/ and never
# replaces the system's QEMU. Beside each binary it writes 'populatebench-build', which tells
# bench qemu what the build is (qemu_build, qemu_patch), which preset a patch claims and which
# -L directories the binary needs for its firmware.
#
# Any apt source it adds is a file of its own in /etc/apt/sources.list.d/, removed on every exit
# path (followed by 'apt-get update', so that apt forgets its lists).
set -euo pipefail

usage() {
    cat <<EOF_USAGE
usage: scripts/get-qemu.sh [--cache DIR] KIND [ARGS]

KIND:
  debian                      Debian's qemu-system-x86 (7.2.x) from apt; prints /usr/bin/qemu-system-x86_64
  backports [VERSION]         qemu-system-x86 from bookworm-backports (10.0.x), unpacked with dpkg -x
                              (VERSION: a Debian version of it; default the newest)
  source VERSION [--patch F]  QEMU built from source. 7.2.N: Debian's bookworm source package, its upstream 7.2.0
                              tarball with Debian's stable-release diffs v7.2.1 ... v7.2.N applied
                              (VERSION 7.2.N; 7.2.0 applies none; the newest applies Debian's whole
                              series, like Debian's binary), x86_64-softmmu only (5 to 11 minutes on
                              2 cores, 0.5 GB). --patch F: the same with F applied last (patch -p1
                              from the source's top; checked before the build starts), a build of
                              its own. A line 'PopulateBench-Preset: NAME' in F's header names
                              the preset that emulates the patched QEMU.
                              Any other VERSION (10.2.2, 11.1.3): the Debian source package of that
                              upstream version from the first of sid, forky, trixie-backports and
                              trixie that carries it (its package lists kept in the cache, the host's
                              apt sources untouched), with Debian's patches, configured with a meson
                              from PyPI in a private venv (bookworm's is too old for QEMU 8.1+).
  source PATH [--patch F]     QEMU built from an upstream tarball (qemu-X.Y.Z.tar.xz) or a source tree
                              you already have (11.1, master): the tree is copied (without .git and
                              its in-tree build/) and built from the copy, never changed; its commit
                              and uncommitted changes (a git tree; else its files' names, sizes and
                              times), or a tarball's sha256, decide whether a cached build is still
                              its build.

  --cache DIR   where builds are kept (default: .build/qemu in the repository); given, Debian's
                source lists for 'source VERSION' are kept there too (DIR/apt/), else in
                \${XDG_CACHE_HOME:-\$HOME/.cache}/populatebench/apt/
  --jobs N      make -j N (default: the number of cores)

Exit codes: 0 the path is printed; 2 bad input, a download or build that failed (one line on
stderr, the build's log named), nothing left in /etc/apt/sources.list.d.
EOF_USAGE
}

die() { echo "get-qemu: $*" >&2; exit 2; }
say() { echo "get-qemu: $*" >&2; }
# The newest of the Debian versions on stdin (one a line), by dpkg's own order (sort -V puts
# 10.0.2+ds-2~bpo12+1 after 10.0.2+ds-2, and a release candidate's ~rc after the release); release
# candidates left out. Prints nothing when none is left.
newest_debian_version() {
    local best="" v
    while read -r v; do
        [[ -z $v || $v == *~rc* ]] && continue
        if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
    done
    echo "$best"
}
# What identifies a tree of the user's (a short hash; never fails): a git tree's commit and every
# uncommitted change (status, the diff against HEAD with binary files and submodules, the contents
# of untracked files); any other tree (or one inside another's repository), the names, sizes and
# modification times of its files. .git and an in-tree build/ are left out, as from the copy.
# Read-only: GIT_OPTIONAL_LOCKS=0 keeps 'git status' from refreshing the tree's index.
tree_stamp() {
    local tree top
    tree=$(cd "$1" && pwd -P)
    git_in() { GIT_OPTIONAL_LOCKS=0 git -c safe.directory='*' -C "$tree" "$@"; }
    top=$(git_in rev-parse --show-toplevel 2>/dev/null || true)
    {
        if [[ -n $top && $top == "$tree" ]] && git_in rev-parse --verify -q HEAD >/dev/null 2>&1; then
            git_in rev-parse HEAD
            git_in status --porcelain=v1 --untracked-files=all
            git_in diff HEAD --binary --submodule=diff
            git_in ls-files -z --others --exclude-standard | (cd "$tree" && xargs -0 -r sha256sum --)
        else
            (cd "$tree" && find . \( -path ./.git -o -path ./build \) -prune -o ! -type d -printf '%P %s %T@\n' | LC_ALL=C sort)
        fi
    } 2>/dev/null | sha256sum | cut -c1-16 || true
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=$repo/.build/qemu
jobs=$(nproc 2>/dev/null || echo 2)
cache_given=0
while (($#)); do
    case $1 in
        --cache) [[ $# -ge 2 ]] || die "--cache needs a directory"; cache=$2; cache_given=1; shift 2 ;;
        --jobs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive number"; jobs=$2; shift 2 ;;
        --help | -h) usage; exit 0 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) break ;;
    esac
done
(($#)) || { usage >&2; exit 2; }
kind=$1
shift

version=
patch_file=
source_path=
case $kind in
    debian) (($# == 0)) || die "debian takes no arguments, not '$*'" ;;
    backports)
        (($# <= 1)) || die "backports takes at most a version, not '$*'"
        version=${1:-}
        ;;
    source)
        (($#)) || die "source needs a VERSION (7.2.0 ... 7.2.N, 10.2.2, ...) or a PATH to a tarball or tree"
        version=$1
        shift
        if [[ $version == */* || -e $version ]]; then
            [[ -f $version || -f $version/configure ]] \
                || die "source $version: neither a tarball nor a QEMU source tree (no configure in it)"
            source_path=$(cd "$(dirname "$version")" && pwd)/$(basename "$version")
        elif [[ ! $version =~ ^7\.2\.(0|[1-9][0-9]{0,2})$ && ! $version =~ ^([89]|[1-9][0-9])\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]{0,2})$ ]]; then
            die "source $version: VERSION is 7.2.0 ... 7.2.N (bookworm's source) or 8.0.0 and later (Debian's newer source lists, e.g. 10.2.2), or a path to a tarball or tree"
        fi
        while (($#)); do
            case $1 in
                --patch)
                    [[ $# -ge 2 ]] || die "--patch needs a file"
                    patch_file=$2
                    shift 2
                    [[ -f $patch_file && -r $patch_file ]] || die "--patch: no readable file '$patch_file'"
                    patch_file=$(cd "$(dirname "$patch_file")" && pwd)/$(basename "$patch_file")
                    ;;
                *) die "source: unknown argument '$1'" ;;
            esac
        done
        ;;
    *) die "unknown kind '$kind': debian, backports or source (see --help)" ;;
esac
[[ $(id -u) -eq 0 ]] || die "needs root (apt-get)"

# --- apt: packages and a temporary source ---------------------------------------------------

apt_source=/etc/apt/sources.list.d/populatebench-get-qemu.sources
apt_added=0
remove_apt_source() {
    ((apt_added)) || return 0
    rm -f "$apt_source"
    apt_added=0
    apt-get update -qq >/dev/null 2>&1 || say "apt-get update after removing $apt_source failed (apt may list stale packages until the next update)"
}
cleanup() {
    local rc=$?
    remove_apt_source
    [[ -n ${partial:-} ]] && rm -rf "$partial"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

apt_updated=0
apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    if ((!apt_updated)); then apt-get update -qq >/dev/null || die "apt-get update failed"; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

# Adds bookworm's 'Types' lines for SUITE as the temporary source, then updates.
add_apt_source() {
    local types=$1 suite=$2
    [[ -e $apt_source ]] && die "$apt_source exists (another get-qemu.sh running, or one that was killed: remove it)"
    apt_added=1
    cat >"$apt_source" <<EOF_SOURCE
# Added by PopulateBench's scripts/get-qemu.sh for one run; it removes this file when it exits.
Types: $types
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF_SOURCE
    apt-get update -qq >/dev/null 2>&1 || die "apt-get update with $suite failed"
    apt_updated=1
}

# Writes the description bench qemu reads beside a binary.
describe() {
    local dir=$1 build=$2 qemu_version=$3 patch=$4 preset=$5 datadir=$6
    cat >"$dir/populatebench-build" <<EOF_BUILD
# Written by scripts/get-qemu.sh; read by bench qemu (--qemu).
build=$build
version=$qemu_version
patch=$patch
preset=$preset
datadir=$datadir
EOF_BUILD
}

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# One get-qemu.sh at a time on the machine: two would share the apt source file (and, with the same
# cache, each other's folders).
lock=/run/lock/populatebench-get-qemu.lock
[[ -d /run/lock && -w /run/lock ]] || lock=$cache/.lock
exec 9>"$lock"
flock -n 9 || die "another get-qemu.sh is running (it holds $lock)"

# --- debian ------------------------------------------------------------------------------------

if [[ $kind == debian ]]; then
    apt_install qemu-system-x86
    [[ -x /usr/bin/qemu-system-x86_64 ]] || die "qemu-system-x86 installed no /usr/bin/qemu-system-x86_64"
    echo /usr/bin/qemu-system-x86_64
    exit 0
fi

# --- backports ---------------------------------------------------------------------------------

if [[ $kind == backports ]]; then
    # Its firmware: the package's own usr/share/qemu, and the system's SeaBIOS (bookworm's is new
    # enough for a q35 guest that boots a kernel directly).
    apt_install seabios
    if [[ -z $version ]]; then
        # The newest finished build in the cache, by the Debian version its description names.
        found=
        for described in "$cache"/backports-*/root/usr/bin/populatebench-build; do
            [[ -f $described && $described != *.partial/* ]] || continue
            cached=$(sed -n 's/^version=//p' "$described" | head -n 1)
            [[ -n $cached && $(newest_debian_version <<<"$cached") == "$cached" ]] || continue
            if [[ -z $found ]] || dpkg --compare-versions "$cached" gt "$found_version"; then
                found=$described found_version=$cached
            fi
        done
        if [[ -n $found ]]; then
            echo "$(dirname "$found")/qemu-system-x86_64"
            exit 0
        fi
    fi
    add_apt_source deb bookworm-backports
    available=$(apt-cache madison qemu-system-x86 | awk -F'|' '$2 ~ /bpo/ {gsub(/ /, "", $2); print $2}')
    [[ -n $available ]] || die "bookworm-backports lists no qemu-system-x86"
    if [[ -z $version ]]; then
        version=$(printf '%s\n' $available | newest_debian_version)
        [[ -n $version ]] || die "bookworm-backports has only release candidates of qemu-system-x86: $(printf '%s ' $available)"
    elif ! printf '%s\n' $available | grep -qxF "$version"; then
        die "backports $version: bookworm-backports has qemu-system-x86 $(printf '%s ' $available)"
    fi
    dir=$cache/backports-${version//[:~+]/_}
    if [[ -f $dir/root/usr/bin/populatebench-build ]]; then
        echo "$dir/root/usr/bin/qemu-system-x86_64"
        exit 0
    fi
    partial=$dir.partial
    rm -rf "$partial" && mkdir -p "$partial/debs"
    say "downloading qemu-system-x86, -common and -data $version"
    (cd "$partial/debs" && apt-get download -qq "qemu-system-x86=$version" "qemu-system-common=$version" \
        "qemu-system-data=$version" 2>/dev/null) || die "apt-get download of qemu-system-x86 $version failed"
    # The libraries it links: bookworm's, by the names the packages depend on.
    libraries=()
    for deb in "$partial"/debs/*.deb; do
        dpkg -x "$deb" "$partial/root" || die "dpkg -x $(basename "$deb") failed"
        while read -r name; do
            [[ $name == qemu-* || -z $name ]] || libraries+=("$name")
        done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/ //g')
    done
    # The libraries come from bookworm itself: the backports source goes first.
    remove_apt_source
    apt_install "${libraries[@]}"
    binary=$partial/root/usr/bin/qemu-system-x86_64
    missing=$({ ldd "$binary" 2>/dev/null || true; } | awk '/not found/ {print $1}' | tr '\n' ' ')
    [[ -z $missing ]] || die "backports $version needs libraries bookworm lacks: $missing"
    firmware=$dir/firmware
    mkdir -p "$partial/firmware"
    # One -L folder: the package's files first, then SeaBIOS's (QEMU looks for bios-256k.bin there).
    for file in "$partial"/root/usr/share/qemu/* /usr/share/seabios/*; do
        name=$(basename "$file")
        # The links point where the folder will be; until the move they dangle (hence -L too).
        [[ -e $partial/firmware/$name || -L $partial/firmware/$name ]] \
            || ln -s "${file/#"$partial"/$dir}" "$partial/firmware/$name"
    done
    "$binary" --version >/dev/null 2>&1 || die "the unpacked backports QEMU does not run ($binary --version fails)"
    rm -rf "$partial/debs"
    rm -rf "$dir" && mv "$partial" "$dir"
    # The description last: a folder without it is never taken for a finished one.
    describe "$dir/root/usr/bin" backports "$version" "" "" "$firmware"
    partial=
    echo "$dir/root/usr/bin/qemu-system-x86_64"
    exit 0
fi

# --- source ------------------------------------------------------------------------------------

# The firmware of a source build: Debian's qemu-system-data (the tarball is stripped of blobs) and
# SeaBIOS; installing them leaves the system's QEMU binary, if any, as it is.
firmware_dirs=/usr/share/qemu:/usr/share/seabios

patch_name=
preset=
dir=$cache/source-$version
# A tarball or tree of the user's: a build folder named after its path.
[[ -n $source_path ]] && dir=$cache/source-path-$(sha256sum <<<"$source_path" | cut -c1-12)
if [[ -n $patch_file ]]; then
    patch_name=$(basename "$patch_file")
    preset=$(sed -n 's/^PopulateBench-Preset:[[:space:]]*\([a-z0-9.-]*\).*/\1/p' "$patch_file" | head -1)
    dir=$dir+${patch_name%.*}
fi
# 7.2.N builds in its source tree (as it always has); the others out of tree, in $dir/build.
bookworm_source=0
[[ -z $source_path && $version == 7.2.* ]] && bookworm_source=1
if ((bookworm_source)); then build=$dir/src/build; else build=$dir/build; fi
binary=$build/qemu-system-x86_64
stamp=none
[[ -n $patch_file ]] && stamp=$(sha256sum "$patch_file" | cut -c1-16)
# A tree of the user's may have changed since: its build is checked against the tree's commit and
# uncommitted changes (tree_stamp), a tarball's against its sha256.
if [[ -n $source_path ]]; then
    if [[ -d $source_path ]]; then
        stamp+=-$(tree_stamp "$source_path")
    else
        stamp+=-$(sha256sum "$source_path" | cut -c1-16) || die "cannot read $source_path"
    fi
fi
if [[ -x $binary && -f $build/populatebench-build && $(cat "$dir/patch-sha256" 2>/dev/null) == "$stamp" ]]; then
    echo "$binary"
    exit 0
fi

# --- source: a newer QEMU (Debian's source of that version, or the user's tarball or tree) -------

if ((!bookworm_source)); then
    apt_install dpkg-dev gcc make pkg-config python3 python3-venv xz-utils bzip2 patch ninja-build libglib2.0-dev \
        libpixman-1-dev flex bison libfdt-dev qemu-system-data seabios
    [[ -d $dir ]] && { say "removing the unfinished or outdated build in $dir"; rm -rf "$dir"; }
    mkdir -p "$dir"
    partial=$dir
    logs=$cache/logs
    mkdir -p "$logs"
    log_name=${dir##*/}
    # Debian's +ds tarballs are stripped of firmware blobs: Debian's qemu-system-data and SeaBIOS
    # stand in, as for the 7.2 builds. An upstream tarball or tree has its own (pc-bios).
    firmware_dirs=/usr/share/qemu:/usr/share/seabios
    if [[ -n $source_path && -f $source_path ]]; then
        say "unpacking $source_path"
        mkdir -p "$dir/src"
        tar -xf "$source_path" -C "$dir/src" --strip-components=1 || die "tar -xf $source_path failed"
        [[ -f $dir/src/configure ]] || die "$source_path holds no QEMU source tree (no configure at its top)"
        tree=$dir/src
    elif [[ -n $source_path ]]; then
        # Always a copy: configure and meson may fetch subprojects into the tree they build, and
        # the user's tree is never written to (the patch, if any, goes on the copy too). Without
        # .git (a submodule's too: configure then updates no submodule) and without an in-tree
        # build/ (QEMU's configure run in the tree puts its build there).
        say "copying $source_path (without .git and build/) into $dir/src"
        mkdir -p "$dir/src"
        tar -C "$source_path" --exclude=.git --anchored --exclude=./build -cf - . | tar -C "$dir/src" -xf - \
            || die "copying $source_path failed"
        tree=$dir/src
    else
        GUEST_NAME=get-qemu
        # shellcheck source=scripts/guest-lib.sh
        source "$repo/scripts/guest-lib.sh"
        # --cache DIR keeps everything this script downloads, the source lists too.
        ((cache_given)) && guest_cache=$cache
        found=
        for suite in sid forky trixie-backports trixie; do
            guest_suite_update "$suite-src" || continue
            found=$(guest_suite_apt "$suite-src" apt-cache showsrc qemu 2>/dev/null | awk -v want="$version" '
                /^Version:/ { v = $2; u = v; sub(/^[0-9]+:/, "", u); sub(/[+~-].*$/, "", u); if (u == want) print v }' | newest_debian_version || true)
            [[ -n $found ]] && break
        done
        [[ -n $found ]] || die "source $version: no Debian source list (sid, forky, trixie-backports, trixie) carries QEMU $version; give a tarball's path instead"
        say "downloading Debian's source package qemu $found ($suite)"
        (cd "$dir" && guest_suite_apt "$suite-src" apt-get source --download-only -qq "qemu=$found" >"$logs/$log_name-download.log" 2>&1) \
            || die "apt-get source qemu=$found failed (log: $logs/$log_name-download.log)"
        dsc=$(ls "$dir"/qemu_*.dsc 2>/dev/null | head -1 || true)
        [[ -n $dsc ]] || die "apt-get source qemu=$found fetched no qemu_*.dsc into $dir (log: $logs/$log_name-download.log)"
        # With Debian's patches applied, as Debian's own binary is built.
        (cd "$dir" && dpkg-source -x "$(basename "$dsc")" src >"$logs/$log_name-unpack.log" 2>&1) \
            || die "dpkg-source -x failed (log: $logs/$log_name-unpack.log)"
        rm -f "$dir"/*.orig.tar.* "$dir"/*.debian.tar.* "$dir"/*.dsc
        tree=$dir/src
    fi
    [[ -f $tree/VERSION ]] && version=$(tr -d '[:space:]' <"$tree/VERSION")
    if [[ -n $patch_file ]]; then
        patch -d "$tree" -p1 -N <"$patch_file" >"$logs/$log_name-patch.log" 2>&1 \
            || die "--patch $patch_name does not apply to QEMU $version (log: $logs/$log_name-patch.log)"
    fi
    # QEMU 8.1 and later configure with a meson newer than bookworm's; its own python/wheels copy
    # is gone from Debian's +ds tarballs. The version QEMU names in pythondeps.toml, from PyPI, in a
    # venv of its own: never the system's Python packages.
    meson_version=$(sed -n 's/^meson = .*installed = "\([0-9.]*\)".*/\1/p' "$tree/pythondeps.toml" 2>/dev/null | head -1)
    meson_version=${meson_version:-1.9.0}
    venv=$cache/meson-$meson_version
    if [[ ! -x $venv/bin/meson ]]; then
        say "installing meson $meson_version from PyPI into $venv"
        rm -rf "$venv"
        { python3 -m venv "$venv" && "$venv/bin/pip" install -q "meson==$meson_version"; } >"$logs/meson-$meson_version.log" 2>&1 \
            || { rm -rf "$venv"; die "pip install meson==$meson_version failed (log: $logs/meson-$meson_version.log)"; }
    fi
    mkdir -p "$build"
    [[ -z $source_path || ! -d $tree/pc-bios ]] || firmware_dirs=$build/pc-bios:/usr/share/seabios
    say "configuring QEMU $version${patch_name:+ with $patch_name} (meson $meson_version)"
    (cd "$build" && "$tree/configure" --target-list=x86_64-softmmu --disable-docs --disable-tools --disable-werror \
        --disable-install-blobs --python="$venv/bin/python3" >"$logs/$log_name-configure.log" 2>&1) \
        || die "configure of QEMU $version failed (log: $logs/$log_name-configure.log)"
    say "building QEMU $version${patch_name:+ with $patch_name}: nice make -j$jobs (10 to 20 minutes on 2 cores)"
    nice make -C "$build" -j"$jobs" qemu-system-x86_64 >"$logs/$log_name-make.log" 2>&1 \
        || die "the build of QEMU $version${patch_name:+ with $patch_name} failed (log: $logs/$log_name-make.log)"
    "$binary" --version >/dev/null 2>&1 || die "the built QEMU does not run ($binary --version fails)"
    echo "$stamp" >"$dir/patch-sha256"
    if [[ -n $patch_file ]]; then
        describe "$build" patched "$version" "$patch_name" "$preset" "$firmware_dirs"
    else
        describe "$build" source "$version" "" "" "$firmware_dirs"
    fi
    partial=
    echo "$binary"
    exit 0
fi

micro=$((10#${version##*.}))

apt_install dpkg-dev gcc make pkg-config python3 xz-utils patch ninja-build libglib2.0-dev libpixman-1-dev \
    flex bison meson libfdt-dev qemu-system-data seabios

# Meson writes absolute paths into the build tree: it is built where it stays, and a tree that
# never finished (no populatebench-build) is started again.
[[ -d $dir ]] && { say "removing the unfinished or outdated build in $dir"; rm -rf "$dir"; }
mkdir -p "$dir"
partial=$dir
logs=$cache/logs
mkdir -p "$logs"
log_name=${dir##*/}

add_apt_source deb-src bookworm
say "downloading Debian's source package of qemu (bookworm)"
(cd "$dir" && apt-get source --download-only -qq -t bookworm qemu >/dev/null 2>&1) || die "apt-get source qemu failed"
remove_apt_source
dsc=$(ls "$dir"/qemu_7.2*.dsc 2>/dev/null | head -1 || true)
[[ -n $dsc ]] || die "apt-get source -t bookworm qemu fetched no qemu_7.2*.dsc into $dir"
(cd "$dir" && dpkg-source -x --skip-patches "$(basename "$dsc")" src >/dev/null 2>&1) || die "dpkg-source -x failed"
rm -f "$dir"/*.orig.tar.* "$dir"/*.debian.tar.* "$dir"/*.dsc

series=$dir/src/debian/patches/series
newest=$(grep -E '^v7\.2\.[0-9]+\.diff$' "$series" | sed -E 's/^v7\.2\.([0-9]+)\.diff$/\1/' | sort -n | tail -1)
((micro <= newest)) || die "source $version: Debian's package goes up to 7.2.$newest"
applied=()
if ((micro == newest)); then
    mapfile -t applied < <(grep -vE '^(#|$)' "$series")
else
    for n in $(seq 1 "$micro"); do applied+=("v7.2.$n.diff"); done
    # The two fixes without which the stripped tarball does not build.
    applied+=(skip-meson-pc-bios.diff ignore-roms-dependency-in-qtest.patch)
fi
for name in "${applied[@]}"; do
    patch -d "$dir/src" -p1 -s -N <"$dir/src/debian/patches/$name" >"$logs/$log_name-patch.log" 2>&1 \
        || die "Debian's $name does not apply to the 7.2.0 source (log: $logs/$log_name-patch.log)"
done
printf '%s\n' "${applied[@]}" >"$dir/debian-patches-applied"
if [[ -n $patch_file ]]; then
    # The patch must apply before anything is built for it.
    patch -d "$dir/src" -p1 -N <"$patch_file" >"$logs/$log_name-patch.log" 2>&1 \
        || die "--patch $patch_name does not apply to QEMU $version with Debian's patches (log: $logs/$log_name-patch.log)"
fi

say "configuring QEMU $version${patch_name:+ with $patch_name} (${#applied[@]} of Debian's patches)"
(cd "$dir/src" && ./configure --target-list=x86_64-softmmu --disable-docs --disable-tools \
    --disable-werror --meson=/usr/bin/meson >"$logs/$log_name-configure.log" 2>&1) \
    || die "configure of QEMU $version failed (log: $logs/$log_name-configure.log)"
say "building QEMU $version${patch_name:+ with $patch_name}: nice make -j$jobs (5 to 11 minutes on 2 cores)"
nice make -C "$dir/src/build" -j"$jobs" qemu-system-x86_64 >"$logs/$log_name-make.log" 2>&1 \
    || die "the build of QEMU $version${patch_name:+ with $patch_name} failed (log: $logs/$log_name-make.log)"
echo "$stamp" >"$dir/patch-sha256"
if [[ -n $patch_file ]]; then
    describe "$dir/src/build" patched "$version" "$patch_name" "$preset" "$firmware_dirs"
else
    describe "$dir/src/build" source "$version" "" "" "$firmware_dirs"
fi
partial=
echo "$binary"
