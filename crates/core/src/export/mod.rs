//! Exporters (being built).
