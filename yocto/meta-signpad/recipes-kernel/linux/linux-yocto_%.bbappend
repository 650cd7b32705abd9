# signpad needs TPM 2.0 (TIS over SPI/I2C/MMIO, CRB), evdev, DRM, dm-crypt and
# a hardened configuration; see files/signpad.cfg. Only for the signpad
# distro (conf/distro/signpad.conf), so that adding the layer changes nothing
# by itself.
FILESEXTRAPATHS:prepend:signpad := "${THISDIR}/files:"

SRC_URI:append:signpad = " file://signpad.scc"
