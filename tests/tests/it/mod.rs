mod enroll;
mod push;
mod qr_login;
mod support;
