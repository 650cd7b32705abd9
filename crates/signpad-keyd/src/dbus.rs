//! `org.signpad.Keys1`.
