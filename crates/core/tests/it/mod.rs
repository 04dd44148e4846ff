mod interop_bad;
mod interop_ente;
mod interop_files;
mod interop_roundtrip;
mod migration_props;
mod oathtool;
mod qr;
mod uri_props;
