file(REMOVE_RECURSE
  "libpare_core.a"
)
