//! Signer authentication factors and the attempt counters behind lockout.

pub mod dynamics;
pub mod fprint;
pub mod lockout;
pub mod pin;
pub mod totp;
