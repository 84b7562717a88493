file(REMOVE_RECURSE
  "libpare_lib.a"
)
