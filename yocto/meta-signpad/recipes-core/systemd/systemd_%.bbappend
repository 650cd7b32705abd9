# The signpad-encrypted-data distro feature: systemd-cryptsetup and
# systemd-cryptenroll (package systemd-crypt) with TPM 2.0 support, for the
# /var/lib/signpad partition.
PACKAGECONFIG:append:signpad = "${@bb.utils.contains('DISTRO_FEATURES', 'signpad-encrypted-data', ' cryptsetup tpm2 openssl', '', d)}"
