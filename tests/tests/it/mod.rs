mod cli;
mod cli_device;
mod enroll;
mod mfa_oob;
mod push;
mod qr_login;
mod shutdown;
mod signin_page;
