mod binary;
mod harness;
mod lockout;
mod management;
mod oauth;
mod totp;
