//! tessera-e2e: end-to-end tests live in tests/; this library is empty.
