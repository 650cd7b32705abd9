# nooelint: oelint.var.suggestedvar.BUGTRACKER, oelint.var.suggestedvar.CVE_PRODUCT
SUMMARY = "signpad production image: the signature pad stack on a minimal systemd system"
DESCRIPTION = "A small, read-only-rootfs image for the signature pad: systemd, \
               the TPM 2.0 runtime and the signpad daemons, without login, ssh, \
               package management or debug tools."
SECTION = "images"
LICENSE = "MIT"

inherit core-image features_check

REQUIRED_DISTRO_FEATURES = "systemd"

# Nothing interactive: no ssh server, no package database on the pad, no
# debug-tweaks (so root has no password and cannot log in), no debuggers or
# profilers. Updates replace the whole image. A development build adds
# "allow-empty-password empty-root-password tools-debug ssh-server-dropbear"
# through EXTRA_IMAGE_FEATURES in local.conf, never here. The only shell is
# busybox' /bin/sh for maintainer and first-boot scripts; nothing starts it
# for a user (no getty on a production pad: SERIAL_CONSOLES = "" in the
# machine or local.conf).
IMAGE_FEATURES = "read-only-rootfs"
IMAGE_LINGUAS = ""

IMAGE_INSTALL = "\
    packagegroup-core-boot \
    packagegroup-signpad \
    ${@bb.utils.contains('DISTRO_FEATURES', 'signpad-encrypted-data', 'packagegroup-signpad-encrypted-data', '', d)} \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"

# Boot partition, read-only root, and the unformatted signpad-data partition
# that becomes the encrypted /var/lib/signpad on first boot.
WKS_FILE ?= "signpad-imx.wks.in"
IMAGE_FSTYPES += "wic.zst wic.bmap"
