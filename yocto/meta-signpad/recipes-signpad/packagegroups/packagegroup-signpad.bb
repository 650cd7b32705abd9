# nooelint: oelint.var.suggestedvar.BUGTRACKER
SUMMARY = "signpad: everything a signature pad runs"
DESCRIPTION = "The signpad daemons with the TPM 2.0 stack they use at runtime. \
               signpadctl is an admin tool for hosts and is not part of the pad."
SECTION = "security"
LICENSE = "MIT"

PACKAGE_ARCH = "${MACHINE_ARCH}"

inherit packagegroup

PACKAGES = "${PN} ${PN}-encrypted-data"

RDEPENDS:${PN} = "\
    libtss2 \
    libtss2-tcti-device \
    signpad-inputd \
    signpad-keyd \
    signpad-netd \
    signpad-ui \
    signpadd \
"

# The TPM-sealed encrypted /var/lib/signpad partition (docs/yocto.md).
RDEPENDS:${PN}-encrypted-data = "\
    cryptsetup \
    signpad-data-partition \
"
