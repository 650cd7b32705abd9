//! Kernel event timestamps on CLOCK_MONOTONIC (`EVIOCSCLOCKID`), which the
//! evdev crate does not expose. Wall-clock time can jump (NTP, RTC set);
//! sample times must not.

use std::os::fd::AsRawFd;

/// `_IOW('E', 0xa0, int)`.
const EVIOCSCLOCKID: libc::c_ulong = 0x4004_45a0;

/// Asks the kernel to stamp this device's events with CLOCK_MONOTONIC.
#[allow(unsafe_code)]
pub(crate) fn use_monotonic_clock(fd: &impl AsRawFd) -> std::io::Result<()> {
    let clock: libc::c_int = libc::CLOCK_MONOTONIC;
    // SAFETY: EVIOCSCLOCKID reads one `int` through the pointer, which
    // points to a live local for the duration of the call; the fd is open.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), EVIOCSCLOCKID as _, &clock) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}
