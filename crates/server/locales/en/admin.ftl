# admin page messages (en): ids start with `admin-`.
