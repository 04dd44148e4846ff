# account page messages (en): ids start with `account-`.
