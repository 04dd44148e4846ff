mod accounts;
mod device;
mod harness;
mod lock;
mod policy;
mod scan;
mod transfer;
