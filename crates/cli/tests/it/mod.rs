mod accounts;
mod crash;
mod harness;
mod scan;
mod transfer;
