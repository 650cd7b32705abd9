# nooelint: oelint.var.bbclassextend, oelint.var.suggestedvar.CVE_PRODUCT
SUMMARY = "signpad: TPM-sealed encrypted partition for /var/lib/signpad"
DESCRIPTION = "On first boot, formats the partition labelled signpad-data as \
               LUKS2, creates its ext4 filesystem, and enrols a TPM 2.0 key slot \
               with systemd-cryptenroll --tpm2 while wiping the one-time key. \
               Every boot after that, systemd-cryptsetup unlocks it with the TPM \
               and mounts it on /var/lib/signpad."
HOMEPAGE = "https://example.invalid/signpad"
BUGTRACKER = "https://example.invalid/signpad/issues"
SECTION = "security"
LICENSE = "MIT"
# The recipe only ships files of this layer, which is MIT licensed.
# nooelint: oelint.var.licenseremotefile
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

SRC_URI = "\
    file://signpad-data-setup \
    file://signpad-data-setup.service \
    file://var-lib-signpad.mount \
    file://crypttab \
"

# Releases before styhead unpack file:// sources into WORKDIR and have no UNPACKDIR.
UNPACKDIR ??= "${WORKDIR}"
S = "${UNPACKDIR}"

inherit systemd features_check

REQUIRED_DISTRO_FEATURES = "systemd signpad-encrypted-data"

do_install() {
    install -d ${D}${libexecdir}/signpad
    install -m 0755 ${UNPACKDIR}/signpad-data-setup ${D}${libexecdir}/signpad/signpad-data-setup

    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${UNPACKDIR}/signpad-data-setup.service ${D}${systemd_system_unitdir}/
    sed -i -e 's#@LIBEXECDIR@#${libexecdir}#g' ${D}${systemd_system_unitdir}/signpad-data-setup.service
    install -m 0644 ${UNPACKDIR}/var-lib-signpad.mount ${D}${systemd_system_unitdir}/

    install -d ${D}${sysconfdir}
    install -m 0644 ${UNPACKDIR}/crypttab ${D}${sysconfdir}/crypttab

    install -d ${D}${localstatedir}/lib/signpad
}

FILES:${PN} += "\
    ${libexecdir}/signpad \
    ${systemd_system_unitdir} \
    ${localstatedir}/lib/signpad \
"
CONFFILES:${PN} = "${sysconfdir}/crypttab"

SYSTEMD_SERVICE:${PN} = "signpad-data-setup.service var-lib-signpad.mount"

RDEPENDS:${PN} = "\
    cryptsetup \
    e2fsprogs-mke2fs \
    systemd-crypt \
"
