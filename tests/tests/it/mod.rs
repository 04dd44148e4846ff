mod cli_device;
mod enroll;
mod full_server;
mod push;
mod qr_login;
mod signin_page;
mod support;
