//! signpad-keyd (work in progress).
