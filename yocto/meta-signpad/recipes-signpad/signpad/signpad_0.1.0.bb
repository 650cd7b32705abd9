# nooelint: oelint.var.bbclassextend
SUMMARY = "signpad: secure electronic signature pad daemons and admin CLI"
DESCRIPTION = "The signpad daemons (TPM key daemon, pen input daemon, session \
               daemon, display UI, mTLS network daemon) and the signpadctl command \
               line tool, each in its own package with its systemd unit, system user \
               and sandboxing."
HOMEPAGE = "https://example.invalid/signpad"
BUGTRACKER = "https://example.invalid/signpad/issues"
SECTION = "security"
LICENSE = "GPL-3.0-or-later"
LIC_FILES_CHKSUM = "file://LICENSE;md5=1ebbd3e34237af26da5dc08a4e440464"
CVE_PRODUCT = "signpad"

# tss-esapi-sys links libtss2 through pkg-config (pre-generated bindings, no
# clang); signpad-ui's linuxkms backend links libinput, udev, xkbcommon and
# fontconfig.
DEPENDS += "fontconfig libinput libxkbcommon tpm2-tss udev"

# This layer lives in the signpad repository, and the recipe builds the
# workspace it sits in: layer, signpad-crates.inc and sources are always the
# same commit, which `cargo xtask yocto check` keeps consistent (the inc is
# generated from this Cargo.lock by `cargo xtask yocto crates-inc`). Pin the
# commit by pinning the repository in kas or your repo manifest. To build
# another checkout, set SIGNPAD_SRCDIR (or EXTERNALSRC:pn-signpad).
# This recipe's directory, recipes-signpad/signpad/, is four levels below
# the repository root.
SIGNPAD_SRCDIR ?= "${@os.path.abspath(os.path.join(d.getVar('FILE_DIRNAME'), '..', '..', '..', '..'))}"
EXTERNALSRC ?= "${SIGNPAD_SRCDIR}"
# Do not drop oe-workdir/oe-logs symlinks into the source checkout.
# (externalsrc.bbclass' variable, which oelint's data does not list.)
# nooelint: oelint.vars.mispell.unknown
EXTERNALSRC_SYMLINKS = ""

require ${BPN}-crates.inc

inherit cargo cargo-update-recipe-crates externalsrc systemd useradd

# Packages built for the pad, one per daemon plus the CLI. The workspace also
# holds libraries and the xtask developer tool, which are never installed.
# In the workspace today: signpad-keyd, signpad-inputd and signpadctl have
# their binaries; signpadd, signpad-ui and signpad-netd are designed
# (docs/architecture.md) but not written yet, so this recipe builds once they
# exist.
SIGNPAD_DAEMONS = "signpad-keyd signpad-inputd signpadd signpad-ui signpad-netd"
SIGNPAD_BINARIES = "${SIGNPAD_DAEMONS} signpadctl"
CARGO_BUILD_FLAGS += "${@' '.join('-p ' + b for b in d.getVar('SIGNPAD_BINARIES').split())} --bins"

PACKAGE_BEFORE_PN = "${SIGNPAD_BINARIES} ${PN}-common"

do_install:append() {
    # Units, users, directories, bus policy and device rules come from the
    # repository's systemd/ directory.
    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${S}/systemd/signpad.target ${D}${systemd_system_unitdir}/
    for daemon in ${SIGNPAD_DAEMONS}; do
        install -m 0644 ${S}/systemd/${daemon}.service ${D}${systemd_system_unitdir}/
    done

    install -d ${D}${nonarch_libdir}/sysusers.d
    install -m 0644 ${S}/systemd/sysusers.d/signpad.conf ${D}${nonarch_libdir}/sysusers.d/signpad.conf

    install -d ${D}${nonarch_libdir}/tmpfiles.d
    install -m 0644 ${S}/systemd/tmpfiles.d/signpad.conf ${D}${nonarch_libdir}/tmpfiles.d/signpad.conf

    install -d ${D}${datadir}/dbus-1/system.d
    install -m 0644 ${S}/systemd/dbus-1/system.d/org.signpad.conf ${D}${datadir}/dbus-1/system.d/org.signpad.conf

    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    install -m 0644 ${S}/systemd/udev/rules.d/70-signpad.rules ${D}${nonarch_base_libdir}/udev/rules.d/70-signpad.rules

    # Configuration lives in /etc/signpad (drop-ins in <daemon>.d/); the
    # daemons run with built-in defaults until a file is provided.
    install -d -m 0755 ${D}${sysconfdir}/signpad
}

# Shared by every daemon: the target that groups them, users, directories, bus
# policy and device rules.
FILES:${PN}-common += "\
    ${systemd_system_unitdir}/signpad.target \
    ${nonarch_libdir}/sysusers.d/signpad.conf \
    ${nonarch_libdir}/tmpfiles.d/signpad.conf \
    ${datadir}/dbus-1/system.d/org.signpad.conf \
    ${nonarch_base_libdir}/udev/rules.d/70-signpad.rules \
    ${sysconfdir}/signpad \
"
FILES:signpad-keyd += "${bindir}/signpad-keyd"
FILES:signpad-inputd += "${bindir}/signpad-inputd"
FILES:signpadd += "${bindir}/signpadd"
FILES:signpad-ui += "${bindir}/signpad-ui"
FILES:signpad-netd += "${bindir}/signpad-netd"
FILES:signpadctl += "${bindir}/signpadctl"

# libtss2-tcti-device is loaded with dlopen, so the shlib scan misses it.
RDEPENDS:signpad-keyd += "${PN}-common libtss2 libtss2-tcti-device"
RDEPENDS:signpad-inputd += "${PN}-common"
RDEPENDS:signpadd += "${PN}-common signpad-keyd"
RDEPENDS:signpad-ui += "${PN}-common signpadd"
RDEPENDS:signpad-netd += "${PN}-common signpadd"
# ${PN} is the whole pad: every daemon, not the admin CLI.
RDEPENDS:${PN} += "${SIGNPAD_DAEMONS}"
ALLOW_EMPTY:${PN} = "1"

SYSTEMD_PACKAGES = "${SIGNPAD_DAEMONS} ${PN}-common"
SYSTEMD_SERVICE:${PN}-common = "signpad.target"
SYSTEMD_SERVICE:signpad-keyd = "signpad-keyd.service"
SYSTEMD_SERVICE:signpad-inputd = "signpad-inputd.service"
SYSTEMD_SERVICE:signpadd = "signpadd.service"
SYSTEMD_SERVICE:signpad-ui = "signpad-ui.service"
SYSTEMD_SERVICE:signpad-netd = "signpad-netd.service"
SYSTEMD_AUTO_ENABLE = "enable"

# One system user per daemon, the same names systemd/sysusers.d/signpad.conf
# declares. useradd creates them when the rootfs is built, so ownership is
# right on a read-only rootfs, and systemd-sysusers finds them present at boot.
# keyd is in tss for /dev/tpmrm0, inputd in input for the pen's event node, ui
# in video, render and input for DRM/KMS and touch. Groups other recipes own
# (tss from tpm2-tss, render from udev) are created here when missing; useradd
# skips groups that already exist.
USERADD_PACKAGES = "${PN}-common"
GROUPADD_PARAM:${PN}-common = "--system signpad; --system tss; --system input; --system render"
USERADD_PARAM:${PN}-common = "\
    --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group --groups signpad,tss signpad-keyd; \
    --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group --groups signpad,input signpad-inputd; \
    --system --no-create-home --home-dir ${localstatedir}/lib/signpad --shell /sbin/nologin --user-group --groups signpad signpadd; \
    --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group --groups signpad,video,render,input signpad-ui; \
    --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group --groups signpad signpad-netd \
"
