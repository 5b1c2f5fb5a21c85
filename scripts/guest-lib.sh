# shellcheck shell=bash
# The one guest builder, sourced by scripts/numa-guest.sh and scripts/qemu-real.sh: Debian's
# packages (qemu-system-x86, busybox-static, libcurl4-openssl-dev, kmod for modinfo, and what the
# caller names), Debian's kernel package downloaded once into the
# cache and unpacked once, the virtio modules of that kernel with their load order, and a busybox
# initramfs. Debian's -cloud-amd64 kernel boots under TCG in seconds; TCG because the /dev/kvm of
# these hosts is a paravirtual KVM that stock kernels do not boot under.
#
# The caller sets GUEST_NAME (its name in messages) and may set KERNEL_PKG; it calls
# guest_cleanup from its EXIT trap (half-made cache entries go). Errors exit 2.

GUEST_NAME=${GUEST_NAME:-guest}
guest_cache=${XDG_CACHE_HOME:-$HOME/.cache}/populatebench
guest_partial=()

guest_note() { echo "$GUEST_NAME:    $*"; }
guest_die() { echo "$GUEST_NAME: $*" >&2; exit 2; }
guest_cleanup() { ((${#guest_partial[@]} == 0)) || rm -rf "${guest_partial[@]}"; }

guest_as_root=()
((EUID == 0)) || { command -v sudo >/dev/null && guest_as_root=(sudo); }
guest_apt_get() { "${guest_as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# Installs what is missing of qemu-system-x86, busybox-static, libcurl4-openssl-dev, kmod and the
# packages given as arguments; sets guest_busybox and guest_modinfo.
guest_packages() {
    # Refresh the lists so the kernel's name is today's; offline, a warm cache still does.
    if ! guest_apt_get update -qq; then
        echo "$GUEST_NAME: apt-get update failed; going on with the package lists there are" >&2
    fi
    local missing=() pkg
    # libcurl4-openssl-dev: a --static-swift-stdlib build links FoundationNetworking statically (the
    # Pushgateway client), which needs -lcurl. kmod: modinfo orders the guest's virtio modules (a
    # minimal Debian has no kmod).
    for pkg in qemu-system-x86 busybox-static libcurl4-openssl-dev kmod "$@"; do
        dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed' || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        guest_note "installing ${missing[*]}"
        guest_apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
            || guest_die "could not install ${missing[*]} (run as root, or install them yourself)"
    fi
    guest_busybox=/bin/busybox
    # ldd fails on a static binary; the guest has no libraries for a dynamic busybox.
    ! ldd "$guest_busybox" >/dev/null 2>&1 || guest_die "$guest_busybox is dynamically linked: install busybox-static"
    command -v qemu-system-x86_64 >/dev/null || guest_die "no qemu-system-x86_64 after installing qemu-system-x86"
    # modinfo lives in /sbin, which a user's PATH may not hold.
    guest_modinfo=$(PATH=$PATH:/usr/sbin:/sbin command -v modinfo || true)
    [[ -n $guest_modinfo ]] || guest_die "no modinfo after installing kmod"
}

# The exact name, never a glob: linux-image-amd64 depends on linux-image-<abi>-amd64; its
# -cloud-amd64 twin (LZ4) boots in about 5 s under TCG.
# Prints nothing (never fails, under pipefail too) when apt knows no such package: the offline path.
guest_kernel_dep() { apt-cache depends "$1" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' || true; }

# Downloads the kernel package once and unpacks its ./boot once; sets guest_deb, guest_kdir,
# guest_vmlinuz.
guest_kernel() {
    local kernel_pkg=${KERNEL_PKG:-} generic cloud
    if [[ -z $kernel_pkg ]]; then
        generic=$(guest_kernel_dep linux-image-amd64)
        cloud=$(guest_kernel_dep linux-image-cloud-amd64)
        if [[ -n $generic && $cloud == "${generic%-amd64}-cloud-amd64" ]]; then
            kernel_pkg=$cloud
        elif [[ -n $generic && -n $(apt-cache show "${generic%-amd64}-cloud-amd64" 2>/dev/null) ]]; then
            kernel_pkg=${generic%-amd64}-cloud-amd64
        else
            kernel_pkg=$generic
        fi
    fi
    if [[ -z $kernel_pkg ]]; then
        # No package lists (offline, no root): fall back to the newest kernel already in the cache.
        kernel_pkg=$(find "$guest_cache" -maxdepth 1 -name 'linux-image-*.deb' -printf '%f\n' 2>/dev/null | sort -V | tail -n 1 | cut -d_ -f1 || true)
        [[ -n $kernel_pkg ]] || guest_die "apt-cache depends linux-image-amd64 names no kernel, and none is cached in $guest_cache"
    fi
    guest_note "kernel package $kernel_pkg"

    mkdir -p "$guest_cache"
    guest_deb=$(find "$guest_cache" -maxdepth 1 -name "${kernel_pkg}_*.deb" | sort -V | tail -n 1)
    if [[ -z $guest_deb ]]; then
        guest_note "downloading $kernel_pkg into $guest_cache"
        local dl f
        dl=$(mktemp -d "$guest_cache/download.XXXXXX")
        guest_partial+=("$dl")
        # apt's _apt sandbox user may not write into the cache; that only costs a notice.
        (cd "$dl" || exit 0
         apt-get download -qq "$kernel_pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
        f=$(find "$dl" -maxdepth 1 -name "${kernel_pkg}_*.deb" | head -n 1)
        [[ -n $f ]] || { rm -rf "$dl"; guest_die "apt-get download $kernel_pkg got nothing"; }
        mv "$f" "$guest_cache/" && rm -rf "$dl"
        guest_deb=$guest_cache/$(basename "$f")
    else
        guest_note "cached $(basename "$guest_deb")"
    fi
    guest_kdir=$guest_cache/$(basename "$guest_deb" .deb)
    guest_vmlinuz=$(find "$guest_kdir/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | head -n 1 || true)
    if [[ -z $guest_vmlinuz ]]; then
        rm -rf "$guest_kdir" "$guest_kdir.tmp" && mkdir -p "$guest_kdir.tmp"
        guest_partial+=("$guest_kdir.tmp")
        dpkg-deb --fsys-tarfile "$guest_deb" | tar -x -C "$guest_kdir.tmp" ./boot
        mv "$guest_kdir.tmp" "$guest_kdir"
        guest_vmlinuz=$(find "$guest_kdir/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
        [[ -n $guest_vmlinuz ]] || guest_die "$guest_deb has no ./boot/vmlinuz-*"
    fi
    guest_note "kernel $guest_vmlinuz"
}

# Unpacks the kernel's drivers/virtio modules once (the cloud kernel has virtio, virtio_ring,
# virtio_pci and virtio_mem as modules) and sets guest_modules to them in load order: the
# package has no modules.dep, so the order comes from each module's depends=.
guest_virtio_modules() {
    local dir=$guest_kdir/virtio-modules
    if [[ ! -d $dir ]]; then
        rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
        guest_partial+=("$dir.tmp")
        dpkg-deb --fsys-tarfile "$guest_deb" | tar -x -C "$dir.tmp" --wildcards './lib/modules/*/kernel/drivers/virtio/*'
        find "$dir.tmp" -name '*.ko*' -exec mv {} "$dir.tmp/" \;
        find "$dir.tmp" -mindepth 1 -type d -exec rm -rf {} +
        # Newer Debian kernels ship their modules xz-compressed: busybox unpacks them (no xz-utils needed).
        local packed
        for packed in "$dir.tmp"/*.ko.xz; do
            if [[ -e $packed ]]; then "$guest_busybox" unxz "$packed"; fi
        done
        mv "$dir.tmp" "$dir"
    fi
    [[ -f $dir/virtio_mem.ko ]] || guest_die "$guest_deb has no drivers/virtio/virtio_mem.ko"
    guest_modules=()
    local -A placed=()
    _guest_place() {
        local name=$1 dep
        [[ -n ${placed[$name]:-} ]] && return
        placed[$name]=1
        [[ -f $dir/$name.ko ]] || guest_die "module $name (needed by virtio_mem) is not in drivers/virtio"
        for dep in $("$guest_modinfo" -F depends "$dir/$name.ko" | tr ',' ' '); do _guest_place "${dep//-/_}"; done
        guest_modules+=("$dir/$name.ko")
    }
    # virtio_pci finds the device; virtio_mem drives it.
    _guest_place virtio_pci
    _guest_place virtio_mem
    guest_note "modules: $(for m in "${guest_modules[@]}"; do basename "$m" .ko; done | tr '\n' ' ')"
}

# A root with busybox and the usual mount points: guest_root DIR.
guest_root() {
    mkdir -p "$1"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,lib/modules}
    cp "$guest_busybox" "$1/bin/busybox"
    ln -sf busybox "$1/bin/sh"
}

# Packs a root into a newc cpio: guest_cpio DIR OUT (busybox's cpio applet: the host may have none).
guest_cpio() {
    (cd "$1" && find . | "$guest_busybox" cpio -o -H newc -R 0:0 2>/dev/null >"$2")
}

# --- kernels of other Debian releases (scripts/kernels.sh) ---------------------------------------
# Each release's package lists live in the cache, apart from the host's: the host's apt sources
# and state are never touched. The release key comes from the host's debian-archive-keyring.

# The Debian suite whose cloud kernel is this series: guest_suite_of 5.10 -> bullseye.
guest_suite_of() {
    case $1 in
        5.10) echo bullseye ;;
        6.1) echo bookworm ;;
        6.12) echo trixie ;;
        7.3) echo trixie-backports ;;
        *) return 1 ;;
    esac
}

# apt-get or apt-cache on a suite's private lists: guest_suite_apt SUITE apt-get|apt-cache ARGS...
# (SUITE-src for its source packages).
guest_suite_apt() {
    local dir=$guest_cache/apt/$1 tool=$2
    shift 2
    "$tool" -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" -o Dir::State::Status=/dev/null \
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

# Fetches a suite's package lists into the cache (once per call of the script; an old copy does
# when the mirror cannot be reached): guest_suite_update SUITE, or guest_suite_update SUITE-src for
# its source packages (then used as guest_suite_apt SUITE-src).
guest_suite_update() {
    local key=$1 suite=${1%-src} type=deb lists=Packages dir=$guest_cache/apt/$1 mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    # A deb-src suite's lists are Sources, a binary one's Packages.
    if [[ $key == *-src ]]; then type="deb-src" lists=Sources; fi
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    # The point release and its security updates: the kernel a user of that release runs today.
    {
        echo "$type $mirror $suite main"
        [[ $suite == *-backports || $suite == sid || $type == deb-src ]] \
            || echo "$type ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $suite-security main"
    } >"$dir/sources.list"
    # apt-get update exits 0 when the mirror cannot be reached (only 'W: Failed to fetch'): that is
    # a failure here too, of the suite's main lists (a security suite that failed alone is not).
    # Without fresh lists, earlier ones of the suite's main do, else it fails.
    local updated=1 main="$dir/lists/*_dists_${suite}_main_*$lists*"
    guest_suite_apt "$key" apt-get update -qq >"$dir/update.log" 2>&1 || updated=0
    grep -qE "^[WE]: .*/dists/${suite}/" "$dir/update.log" && updated=0
    if ((!updated)); then
        if compgen -G "$main" >/dev/null; then
            echo "$GUEST_NAME: apt-get update of $key failed ($(grep -E '^[WE]: ' "$dir/update.log" | head -n 1)); using the cached lists" >&2
        else
            echo "$GUEST_NAME: apt-get update of $key failed: $(tail -n 3 "$dir/update.log" | tr '\n' ' ')" >&2
            return 1
        fi
    elif ! compgen -G "$main" >/dev/null; then
        echo "$GUEST_NAME: apt-get update of $key left no $lists list in $dir/lists" >&2
        return 1
    fi
}

# Downloads a package of a suite into the kernel cache once; sets guest_suite_deb to the .deb's path
# (not a $(...) call: the download folder it adds to guest_partial must reach the cleanup).
guest_suite_download() {
    local suite=$1 pkg=$2 version dl f got
    guest_suite_deb=""
    version=$(guest_suite_apt "$suite" apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }' || true)
    [[ -n $version ]] || { echo "$GUEST_NAME: $suite has no package $pkg" >&2; return 1; }
    mkdir -p "$guest_cache/kernels"
    f=$guest_cache/kernels/${pkg}_${version//:/%3a}_amd64.deb
    if [[ ! -s $f ]]; then
        echo "$GUEST_NAME:    downloading $pkg $version ($suite)" >&2
        dl=$(mktemp -d "$guest_cache/kernels/download.XXXXXX")
        guest_partial+=("$dl")
        (cd "$dl" && guest_suite_apt "$suite" apt-get download -qq "$pkg" >&2) || { rm -rf "$dl"; return 1; }
        got=$(find "$dl" -maxdepth 1 -name '*.deb' | head -n 1 || true)
        [[ -n $got ]] || { rm -rf "$dl"; echo "$GUEST_NAME: apt-get download $pkg ($suite) got nothing" >&2; return 1; }
        mv "$got" "$f" && rm -rf "$dl"
    fi
    guest_suite_deb=$f
}

# Unpacks a kernel package's image once; sets guest_vmlinuz to its vmlinuz, or to nothing when the
# package has none (not a $(...) call: what it adds to guest_partial must reach the cleanup).
# Older packages keep it in ./boot/vmlinuz-<abi>, newer ones (7.x) in ./usr/lib/modules/<abi>/vmlinuz.
# The image is unpacked into the cache's kernels/<name>.image, never beside a .deb the user gave;
# a .deb newer than its image (rebuilt under the same name) is unpacked again.
guest_deb_vmlinuz() {
    local deb=$1 dir found
    dir=$guest_cache/kernels/$(basename "${deb%.deb}").image
    guest_vmlinuz=""
    if [[ ! -d $dir || $deb -nt $dir ]]; then
        mkdir -p "$guest_cache/kernels"
        rm -rf "$dir" "$dir.tmp" && mkdir -p "$dir.tmp"
        guest_partial+=("$dir.tmp")
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir.tmp" --wildcards './boot/vmlinuz-*' './usr/lib/modules/*/vmlinuz' 2>/dev/null || true
        found=$(find "$dir.tmp" \( -path '*/boot/vmlinuz-*' -o -path '*/usr/lib/modules/*/vmlinuz' \) -type f 2>/dev/null | head -n 1 || true)
        # Only an image with a kernel is kept: one without is looked into again next time.
        if [[ -n $found ]]; then mv "$dir.tmp" "$dir"; else rm -rf "$dir.tmp"; return 0; fi
    fi
    guest_vmlinuz=$(find "$dir" \( -path '*/boot/vmlinuz-*' -o -path '*/usr/lib/modules/*/vmlinuz' \) -type f 2>/dev/null | head -n 1 || true)
}

# The cloud kernel of a suite: sets guest_vmlinuz and guest_kernel_label (package and version).
# Newer kernel packages keep the image in linux-binary-<abi> (a dependency of linux-image-<abi>).
guest_suite_kernel() {
    local suite=$1 image binary deb
    image=$(guest_suite_apt "$suite" apt-cache depends linux-image-cloud-amd64 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' || true)
    [[ -n $image ]] || { echo "$GUEST_NAME: $suite's linux-image-cloud-amd64 names no kernel" >&2; return 1; }
    guest_suite_download "$suite" "$image" || return 1
    deb=$guest_suite_deb
    guest_deb_vmlinuz "$deb"
    if [[ -z $guest_vmlinuz ]]; then
        binary=$(guest_suite_apt "$suite" apt-cache depends "$image" 2>/dev/null \
            | awk '$1 == "Depends:" && $2 ~ /^linux-binary-/ { print $2; exit }' || true)
        [[ -n $binary ]] || { echo "$GUEST_NAME: $image holds no vmlinuz and names no linux-binary package" >&2; return 1; }
        guest_suite_download "$suite" "$binary" || return 1
        deb=$guest_suite_deb
        guest_deb_vmlinuz "$deb"
        [[ -n $guest_vmlinuz ]] || { echo "$GUEST_NAME: $binary holds no vmlinuz" >&2; return 1; }
    fi
    guest_kernel_label=$(basename "$deb" .deb)
}

# bench and bench-trial linked against the Swift runtime statically (the guest has none), built
# once into .build-static; sets guest_bench and guest_trial. guest_build_bench LOG
guest_build_bench() {
    if ! swift build -c release --static-swift-stdlib --scratch-path .build-static --product bench >"$1" 2>&1; then
        tail -n 40 "$1" >&2
        guest_die "swift build failed (the log above)"
    fi
    guest_bench=$PWD/.build-static/release/bench
    guest_trial=$PWD/.build-static/release/bench-trial
    [[ -x $guest_bench ]] || guest_die "no executable $guest_bench after the build"
    # Each trial runs in bench-trial, which bench starts from its own folder.
    [[ -x $guest_trial ]] || guest_die "no executable $guest_trial after the build"
}

# Copies bench, bench-trial and every library ldd names, at the path the loader looks for it,
# into a guest root: guest_install_bench ROOT
guest_install_bench() {
    local root=$1 libs lib
    cp "$guest_bench" "$root/bin/bench"
    cp "$guest_trial" "$root/bin/bench-trial"
    # ldd exits 1 on a static binary (it has nothing to name): that is no failure here.
    libs=$({ ldd "$guest_bench" "$guest_trial" || true; } | awk '/:$/ { next } /not found/ { print "MISSING " $1; next } $2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' | sort -u)
    if grep -q '^MISSING' <<<"$libs"; then guest_die "ldd: $(grep '^MISSING' <<<"$libs" | tr '\n' ' ')"; fi
    for lib in $libs; do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
    guest_note "libraries: $(tr '\n' ' ' <<<"$libs")"
}
