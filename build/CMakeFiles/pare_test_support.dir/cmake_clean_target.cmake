file(REMOVE_RECURSE
  "libpare_test_support.a"
)
