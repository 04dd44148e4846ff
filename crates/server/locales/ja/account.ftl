# account page messages (ja): ids start with `account-`.
