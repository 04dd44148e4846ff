# admin page messages (ja): ids start with `admin-`.
