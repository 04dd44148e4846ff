mod accounts;
mod crash;
mod device;
mod harness;
mod scan;
mod transfer;
