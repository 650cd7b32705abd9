# NXP's linux-imx (meta-freescale) is not a linux-yocto kernel: .scc features
# and meta-tpm's kernel fragments do not apply. It merges the fragments named
# in DELTA_KERNEL_DEFCONFIG into its defconfig instead. The TPM chip also needs
# a device tree node (e.g. an "infineon,slb9670" child of the ecspi controller
# with its reset and interrupt GPIOs) in the board's device tree: that is board
# wiring, kept in the BSP layer, not here. Only for the signpad distro.
# The fragment is the one linux-yocto uses, in the main layer.
FILESEXTRAPATHS:prepend:signpad := "${THISDIR}/../../../../recipes-kernel/linux/files:"

SRC_URI:append:signpad = " file://signpad.cfg"
# DELTA_KERNEL_DEFCONFIG is linux-imx's own variable, unknown to oelint's data.
# nooelint: oelint.vars.mispell.unknown
DELTA_KERNEL_DEFCONFIG:append:signpad = " signpad.cfg"
