//! Importers of other authenticators' exports (being built).
